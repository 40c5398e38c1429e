/**
 * `footfall`: the command line. Reads flags and the environment (here only), then runs one command
 * over files, Grafana's API or Prometheus. Exit statuses are listed in report.ts and docs/rollout-cli.md.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { DashboardAction, TransformSettings } from './dashboard.js';
import { runOnFiles } from './files.js';
import { runOnGrafana } from './grafana-api.js';
import { EXIT } from './report.js';
import { findUnused, formatJson, formatTable } from './unused.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

const HELP = `footfall ${VERSION}: roll the footfall usage panel out to Grafana dashboards

Usage:
  footfall dashboards inject|remove|check|migrate [--dry-run] [--endpoint URL] PATH...
  footfall dashboards inject|remove|check|migrate --grafana URL [--dry-run] [--concurrency N]
  footfall dashboards unused --prometheus URL [--days N] [--json]

  inject    put exactly one footfall panel at the top of each dashboard (idempotent)
  remove    take the footfall panel out again, restoring the dashboard as it was
  check     exit 1 and list dashboards that lack the panel or still have macropower-analytics-panel
  migrate   replace macropower-analytics-panel with the footfall panel, mapping its options
  unused    list dashboards not opened in the last N days, and those never opened

Options:
  PATH...             dashboard files, or folders searched for *.json
  --grafana URL       work on Grafana's HTTP API instead of files (URL with Grafana's sub-path)
  --token TOKEN       service-account token; better: the FOOTFALL_GRAFANA_TOKEN environment variable
  --dry-run           print what would change, as a diff, and write nothing
  --endpoint URL      the panel's endpoint option for panels added or migrated (default: empty,
                      meaning <Grafana sub-path>/footfall/v1/metrics on Grafana's origin)
  --concurrency N     dashboards read and saved at once with --grafana (default 4)
  --page-size N       search page size with --grafana (default 1000, Grafana allows 5000)
  --prometheus URL    Prometheus (or a Prometheus-compatible query API) for unused
  --days N            unused: days without a session (default 30)
  --json              unused: JSON instead of a table
  -h, --help          this text
  --version           the version

Exit status: 0 done (check: all pass), 1 check found dashboards to fix, 2 bad command line,
3 some dashboards failed, 4 Grafana or Prometheus could not be used (unreachable, 401).
`;

class UsageError extends Error {}

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`${flag} needs a whole number of 1 or more, not "${value}"`);
  }
  return n;
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { stdout, stderr } = process;
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'dry-run': { type: 'boolean' },
        grafana: { type: 'string' },
        token: { type: 'string' },
        endpoint: { type: 'string' },
        concurrency: { type: 'string' },
        'page-size': { type: 'string' },
        prometheus: { type: 'string' },
        days: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (error) {
    stderr.write(`footfall: ${(error as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  if (values.help || positionals.length === 0) {
    (values.help ? stdout : stderr).write(HELP);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  try {
    const [group, command, ...paths] = positionals;
    if (group !== 'dashboards') {
      throw new UsageError(`unknown command "${group}"`);
    }
    if (command === 'unused') {
      if (values.prometheus === undefined) {
        throw new UsageError('unused needs --prometheus URL');
      }
      if (paths.length > 0) {
        throw new UsageError('unused takes no paths');
      }
      const days = positiveInt(values.days, '--days', 30);
      try {
        const rows = await findUnused(values.prometheus, days);
        stdout.write(values.json ? formatJson(rows, days) : formatTable(rows));
        return EXIT.ok;
      } catch (error) {
        stderr.write(`error: ${(error as Error).message}\n`);
        return EXIT.unreachable;
      }
    }
    if (command !== 'inject' && command !== 'remove' && command !== 'check' && command !== 'migrate') {
      throw new UsageError(`unknown dashboards command "${command ?? ''}"`);
    }
    const action: DashboardAction | 'check' = command;
    const settings: TransformSettings = {
      version: VERSION,
      ...(values.endpoint === undefined ? {} : { endpoint: values.endpoint }),
    };
    const dryRun = values['dry-run'] === true;
    if (values.grafana !== undefined) {
      if (paths.length > 0) {
        throw new UsageError('give either --grafana or paths, not both');
      }
      const token = values.token ?? env['FOOTFALL_GRAFANA_TOKEN'];
      if (!token) {
        throw new UsageError('--grafana needs a service-account token: set FOOTFALL_GRAFANA_TOKEN (or pass --token)');
      }
      const concurrency = positiveInt(values.concurrency, '--concurrency', 4);
      const pageSize = Math.min(5000, positiveInt(values['page-size'], '--page-size', 1000));
      return await runOnGrafana({
        action,
        grafana: values.grafana,
        token,
        dryRun,
        concurrency,
        pageSize,
        settings,
        stdout,
        stderr,
      });
    }
    if (paths.length === 0) {
      throw new UsageError(`${command} needs dashboard files or folders, or --grafana URL`);
    }
    return await runOnFiles({ action, paths, dryRun, settings, stdout, stderr });
  } catch (error) {
    if (!(error instanceof UsageError) && (error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw error;
    }
    stderr.write(`footfall: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
}

// Set the exit code rather than calling process.exit, so stdout is flushed when piped.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`footfall: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = EXIT.someFailed;
  }
);
