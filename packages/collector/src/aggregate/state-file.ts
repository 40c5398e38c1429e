import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { parseState, serializeStateChunks, type CollectorState, type ParsedState } from './state.js';

/**
 * The state file: written whole to a temporary file beside it, flushed to disk, then renamed over it,
 * so a crash or power cut mid-write leaves the previous state, never half of one.
 */
export interface StateFile {
  readonly path: string;
  /**
   * The saved state, without the entries that cannot be used (counted in `skipped`); undefined (and a
   * log line saying why) when there is none or the file as a whole cannot be used. Never throws.
   */
  load(): Promise<ParsedState | undefined>;
  save(state: CollectorState): Promise<void>;
}

/**
 * A new temporary file is created, never opened if it exists, and never through a symbolic link: a
 * fixed name would let anyone who can write to the directory point it at another file.
 */
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

export function createStateFile(path: string, logger: Logger): StateFile {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  /** Where a corrupt file is kept for a post-mortem: one copy, the latest, not one more per restart. */
  const aside = `${path}.corrupt`;

  /** Temporaries a process killed mid-save left behind (only this collector writes them). */
  async function removeLeftovers(): Promise<void> {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(prefix) && name.endsWith('.tmp')) {
        await unlink(join(dir, name)).catch(() => undefined);
      }
    }
  }

  return {
    path,
    async load() {
      await removeLeftovers();
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          logger.info({ stateFile: path }, 'no state file yet: counters start from zero');
        } else {
          logger.warn(
            { stateFile: path, err: (err as Error).message },
            'cannot read the state file: counters start from zero'
          );
        }
        return undefined;
      }
      let problem: string;
      try {
        const parsed = parseState(JSON.parse(text));
        if (parsed.skipped > 0) {
          logger.warn(
            { stateFile: path, skipped: parsed.skipped, problems: parsed.problems },
            'state file entries that cannot be used were skipped'
          );
        }
        return parsed;
      } catch (err) {
        problem = (err as Error).message;
      }
      await rename(path, aside).catch(() => undefined);
      logger.warn({ stateFile: path, keptAs: aside, problem }, 'the state file is corrupt: counters start from zero');
      return undefined;
    },
    async save(state) {
      const temporary = join(dir, `${prefix}${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
      const file = await open(temporary, CREATE_NEW, 0o600);
      try {
        // Chunk by chunk: each write gives the event loop back, so intake goes on while a large state is saved.
        for (const chunk of serializeStateChunks(state)) {
          await file.write(chunk);
        }
        await file.sync();
      } catch (err) {
        await file.close().catch(() => undefined);
        await unlink(temporary).catch(() => undefined);
        throw err;
      }
      await file.close();
      try {
        await rename(temporary, path);
      } catch (err) {
        await unlink(temporary).catch(() => undefined);
        throw err;
      }
      // The rename is durable once the directory is flushed too (not every file system allows it).
      const handle = await open(dir, 'r').catch(() => undefined);
      await handle?.sync().catch(() => undefined);
      await handle?.close();
    },
  };
}
