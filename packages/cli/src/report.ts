/**
 * What the user reads: one line per dashboard that changed, fails the check, was skipped or failed
 * (unchanged ones stay quiet), a diff per dashboard in a dry run, a progress line on stderr for long
 * runs, and the summary line at the end. Exit statuses are decided here too, in one place.
 */
import { createTwoFilesPatch } from 'diff';

export type Outcome = 'changed' | 'unchanged' | 'pass' | 'fail' | 'provisioned' | 'failed';

export interface Writer {
  write(text: string): unknown;
}

/** Exit statuses, as documented in docs/rollout-cli.md. */
export const EXIT = {
  ok: 0,
  /** `check`: at least one dashboard lacks the panel or still has the old one. */
  checkFailed: 1,
  /** Bad command line. */
  usage: 2,
  /** At least one dashboard could not be read, changed or saved (invalid JSON, 412, 403…). */
  someFailed: 3,
  /** Grafana or Prometheus could not be used at all: unreachable, 401, not their API. */
  unreachable: 4,
} as const;

export interface Reporter {
  /** A dashboard done. `before`/`after` give the dry-run diff. */
  dashboard(
    name: string,
    outcome: Outcome,
    details?: { notes?: readonly string[]; before?: string; after?: string }
  ): void;
  /** A file that is not a dashboard: a note, not a failure. */
  notDashboard(name: string, why: string): void;
  /** Prints the summary line and returns the exit status. */
  finish(): number;
}

export interface ReporterSettings {
  readonly check: boolean;
  readonly dryRun: boolean;
  /** How many dashboards the run expects; the progress line appears from PROGRESS_FROM on. */
  readonly total: number;
  readonly stdout: Writer;
  readonly stderr: Writer;
}

/** Fewer dashboards than this finish before a progress line would help. */
const PROGRESS_FROM = 20;

export function createReporter(settings: ReporterSettings): Reporter {
  const { stdout, stderr, check, dryRun, total } = settings;
  const counts: Record<Outcome, number> = { changed: 0, unchanged: 0, pass: 0, fail: 0, provisioned: 0, failed: 0 };
  let notDashboards = 0;
  let done = 0;
  let seen = 0;
  // About ten progress lines however long the run: enough to see it moving, few enough for CI logs.
  const step = Math.max(1, Math.ceil(total / 10));
  const progress = (): void => {
    if (total >= PROGRESS_FROM && (seen % step === 0 || seen === total)) {
      stderr.write(`footfall: ${seen}/${total} done\n`);
    }
  };
  const suffix = (notes: readonly string[] | undefined): string =>
    notes && notes.length > 0 ? `\n    ${notes.join('\n    ')}` : '';
  return {
    dashboard(name, outcome, details = {}) {
      counts[outcome]++;
      done++;
      seen++;
      if (outcome === 'changed') {
        stdout.write(`${dryRun ? 'would change' : 'changed'} ${name}${suffix(details.notes)}\n`);
        if (dryRun && details.before !== undefined && details.after !== undefined) {
          stdout.write(
            createTwoFilesPatch(name, name, details.before, details.after, '', '', { context: 2 }).replace(/^=+\n/, '')
          );
        }
      } else if (outcome === 'fail') {
        stdout.write(`FAIL ${name}${suffix(details.notes)}\n`);
      } else if (outcome === 'provisioned') {
        stdout.write(`skipped ${name}: provisioned (change its file instead)\n`);
      } else if (outcome === 'failed') {
        stderr.write(`error: ${name}${suffix(details.notes)}\n`);
      }
      progress();
    },
    notDashboard(name, why) {
      notDashboards++;
      seen++;
      stderr.write(`note: skipped ${name}: ${why}\n`);
      progress();
    },
    finish() {
      const n = done;
      const tail = `${counts.provisioned} skipped (provisioned), ${counts.failed} failed`;
      const line = check
        ? `${n} dashboards: ${counts.pass} pass, ${counts.fail} fail the check, ${tail}`
        : `${n} dashboards: ${counts.changed} changed, ${counts.unchanged} unchanged, ${tail}${dryRun ? ' (dry run: nothing written)' : ''}`;
      stdout.write(`${line}\n`);
      if (notDashboards > 0) {
        stdout.write(`${notDashboards} file${notDashboards === 1 ? '' : 's'} skipped: not dashboards\n`);
      }
      if (counts.failed > 0) {
        return EXIT.someFailed;
      }
      if (counts.fail > 0) {
        return EXIT.checkFailed;
      }
      return EXIT.ok;
    },
  };
}
