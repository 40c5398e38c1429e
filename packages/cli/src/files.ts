/**
 * The CLI over dashboard files: every path named, folders walked for `*.json`, each file changed in
 * place (or only diffed with --dry-run).
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { checkDashboard, transformDashboard, type DashboardAction, type TransformSettings } from './dashboard.js';
import { createReporter, type Writer } from './report.js';

export interface FilesRun {
  readonly action: DashboardAction | 'check';
  readonly paths: readonly string[];
  readonly dryRun: boolean;
  readonly settings: TransformSettings;
  readonly stdout: Writer;
  readonly stderr: Writer;
}

/** Folders nobody keeps dashboards in, and which can be huge. */
const SKIPPED_FOLDERS = new Set(['node_modules', '.git']);

/** The files a run covers, sorted so runs and their output are repeatable. Throws for a path that does not exist. */
export async function dashboardFiles(paths: readonly string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const path of paths) {
    if (!(await stat(path)).isDirectory()) {
      // A file named on the command line is read whatever its extension.
      files.add(path);
      continue;
    }
    const entries = await readdir(path, { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.endsWith('.json')) {
        continue;
      }
      const full = join(entry.parentPath, entry.name);
      if (
        relative(path, full)
          .split(/[\\/]/)
          .some((part) => SKIPPED_FOLDERS.has(part))
      ) {
        continue;
      }
      files.add(full);
    }
  }
  return [...files].sort();
}

export async function runOnFiles(run: FilesRun): Promise<number> {
  const files = await dashboardFiles(run.paths);
  const reporter = createReporter({
    check: run.action === 'check',
    dryRun: run.dryRun,
    total: files.length,
    stdout: run.stdout,
    stderr: run.stderr,
  });
  for (const file of files) {
    try {
      const text = await readFile(file, 'utf8');
      if (run.action === 'check') {
        const result = checkDashboard(text);
        if (result.status === 'skipped') {
          reporter.notDashboard(file, result.problems.join('; '));
        } else {
          reporter.dashboard(file, result.status === 'ok' ? 'pass' : 'fail', { notes: result.problems });
        }
        continue;
      }
      const result = transformDashboard(text, run.action, run.settings);
      if (result.status === 'skipped') {
        reporter.notDashboard(file, result.notes.join('; '));
        continue;
      }
      if (result.status === 'changed' && !run.dryRun) {
        await writeFile(file, result.text);
      }
      reporter.dashboard(file, result.status, { notes: result.notes, before: text, after: result.text });
    } catch (error) {
      reporter.dashboard(file, 'failed', { notes: [(error as Error).message] });
    }
  }
  return reporter.finish();
}
