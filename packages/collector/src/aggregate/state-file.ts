import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { collectorStateSchema, type CollectorState } from './state.js';

/**
 * The state file: written whole to a temporary file beside it, flushed to disk, then renamed over it,
 * so a crash or power cut mid-write leaves the previous state, never half of one.
 */
export interface StateFile {
  readonly path: string;
  /** The saved state; undefined (and a log line saying why) when there is none or it cannot be used. Never throws. */
  load(): Promise<CollectorState | undefined>;
  save(state: CollectorState): Promise<void>;
}

export function createStateFile(path: string, logger: Logger): StateFile {
  // One fixed name: a temporary left by a process killed mid-save is overwritten by the next save.
  const temporary = join(dirname(path), `.${basename(path)}.tmp`);

  return {
    path,
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') logger.info({ stateFile: path }, 'no state file yet: counters start from zero');
        else logger.warn({ stateFile: path, err: (err as Error).message }, 'cannot read the state file: counters start from zero');
        return undefined;
      }
      let problem: string;
      try {
        const parsed = collectorStateSchema.safeParse(JSON.parse(text));
        if (parsed.success) return parsed.data;
        problem = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ');
      } catch (err) {
        problem = `not JSON: ${(err as Error).message}`;
      }
      // Kept aside for a post-mortem rather than overwritten by the next save.
      const aside = `${path}.corrupt-${Date.now()}`;
      await rename(path, aside).catch(() => undefined);
      logger.warn({ stateFile: path, keptAs: aside, problem }, 'the state file is corrupt: counters start from zero');
      return undefined;
    },
    async save(state) {
      const file = await open(temporary, 'w', 0o600);
      try {
        await file.writeFile(JSON.stringify(state));
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
      const dir = await open(dirname(path), 'r').catch(() => undefined);
      await dir?.sync().catch(() => undefined);
      await dir?.close();
    },
  };
}
