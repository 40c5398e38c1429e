/**
 * `npm run bench:panel`: the panel's three figures, measured on the browser harness (Debian
 * Chromium, the built `packages/panel/dist/module.js` loaded through SystemJS with Grafana 13.2's
 * shared modules) against the real collector, then written into the panel part of BENCHMARKS.md.
 *
 * - the gzip size of `dist/module.js`;
 * - bytes on the wire per session-hour at a 60 s heartbeat and the default export interval, against the
 *   old panel's full JSON body per beat. Time runs 60 times faster (a 1 s heartbeat, exports every
 *   default-interval / 60), which gives the same bodies, only sooner: DELTA sums carry the count of
 *   heartbeats, not one point per beat. An hour is the start export, the steady exports and the end
 *   export. Each request counts its request line, headers and body as the server received them;
 * - the share of sessions whose end reached the collector when the tab was closed, with export and
 *   heartbeat intervals of an hour, so only the pagehide flush can have delivered it.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defaultBootData } from '../test/support/boot-data.ts';
import { launchChromium, type RunningChromium } from '../test/support/chromium.ts';
import { spawnCollector, type CollectorProcess } from '../test/support/collector-process.ts';
import { scrape, sumOf } from '../test/support/exposition.ts';
import { openHarnessPage } from '../test/support/harness-page.ts';
import { startHarnessServer, type CollectorRequest, type HarnessServer } from '../test/support/harness-server.ts';
import { REPO_ROOT, sharedModuleSet } from '../test/support/shared-module-sets.ts';
import { DEFAULT_OPTIONS } from '../packages/browser/src/settings.ts';
import { oldPanelPayload } from './old-panel-payload.ts';
import { currentRevision } from './revision.ts';
import { writeBenchmarkSection } from './sections.ts';
import { median } from './stats.ts';

const DIST = `${REPO_ROOT}/packages/panel/dist`;
const SET = sharedModuleSet('grafana-13');
/** Real seconds per benchmark second: a 60 s heartbeat becomes 1 s. */
const SPEED_UP = 60;
const HEARTBEAT_SECONDS = 60;
const STEADY_EXPORTS = 5;
const CLOSED_TABS = Number(process.env.BENCH_CLOSED_TABS) > 0 ? Number(process.env.BENCH_CLOSED_TABS) : 20;
const EXPORTS_PER_HOUR = 3600 / DEFAULT_OPTIONS.exportIntervalSeconds;
const VARIABLES = [
  { name: 'env', values: ['prod'] },
  { name: 'host', values: ['web-1'] },
];

function log(message: string): void {
  process.stderr.write(`[bench:panel] ${message}\n`);
}

/** Request line, headers and body, as HTTP/1.1 puts them on the wire. */
function wireBytes(request: Pick<CollectorRequest, 'path' | 'headers'>, bodyBytes: number, overrides: Record<string, string> = {}): number {
  const headers = { ...request.headers, ...overrides, 'content-length': String(bodyBytes) };
  let bytes = `POST ${request.path} HTTP/1.1\r\n`.length + 2;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) bytes += `${name}: ${v}\r\n`.length;
  }
  return bytes + bodyBytes;
}

function metricNames(body: Buffer): Set<string> {
  const parsed = JSON.parse(body.toString('utf8')) as { resourceMetrics: { scopeMetrics: { metrics: { name: string }[] }[] }[] };
  return new Set(parsed.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.name))));
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

interface WireResult {
  readonly start: number;
  readonly steady: number;
  readonly end: number;
  readonly perHour: number;
  readonly largestBody: number;
  readonly oldPerBeat: number;
  readonly oldPerHour: number;
}

async function measureWire(chrome: RunningChromium, server: HarnessServer, collector: CollectorProcess): Promise<WireResult> {
  const dashboard = { uid: 'bench-wire', title: 'Service overview' };
  const first = server.requests.length;
  const { page, harness } = await openHarnessPage(chrome.context, server, `/d/${dashboard.uid}/service-overview`);
  await harness.mount({
    dashboard,
    variables: VARIABLES,
    timeRange: { from: 'now-6h', to: 'now' },
    options: {
      heartbeatIntervalSeconds: HEARTBEAT_SECONDS / SPEED_UP,
      exportIntervalSeconds: DEFAULT_OPTIONS.exportIntervalSeconds / SPEED_UP,
    },
  });
  await server.waitForRequests(first + STEADY_EXPORTS + 1, 120_000);
  await page.close({ runBeforeUnload: true });
  const ended = await waitFor(async () => {
    const { samples } = await scrape(collector.url);
    return sumOf(samples, 'footfall_dashboard_session_duration_seconds_count', { dashboard_uid: dashboard.uid }) === 1;
  }, 10_000);
  if (!ended) throw new Error('the session end never reached the collector');

  const sent = server.requests.slice(first).filter((r) => r.method === 'POST' && r.status === 200);
  const classified = sent.map((r) => ({ request: r, names: metricNames(r.body), bytes: wireBytes(r, r.body.byteLength) }));
  const start = classified.find((c) => c.names.has('grafana.dashboard.sessions'));
  const end = classified.find((c) => c.names.has('grafana.dashboard.session.duration'));
  const steady = classified.filter((c) => c !== start && c !== end && c.names.has('grafana.dashboard.heartbeats'));
  if (!start || !end || steady.length === 0) throw new Error(`unexpected exports: ${classified.map((c) => [...c.names].join('+')).join(', ')}`);
  const steadyBytes = median(steady.map((c) => c.bytes));
  const perHour = start.bytes + (EXPORTS_PER_HOUR - 2) * steadyBytes + end.bytes;

  // The old panel: the same browser request (cookie and all) with its body, as text/plain (no-cors).
  const boot = defaultBootData(SET, server.url);
  const url = new URL(server.url);
  const oldBody = oldPanelPayload(
    {
      hostname: url.hostname,
      port: url.port,
      dashboard,
      user: boot.user,
      buildInfo: boot.settings.buildInfo as Record<string, unknown>,
      variables: VARIABLES,
      timeRange: { from: 'now-6h', to: 'now' },
    },
    'heartbeat',
  );
  const oldPerBeat = wireBytes(steady[0]!.request, Buffer.byteLength(oldBody), { 'content-type': 'text/plain;charset=UTF-8' });
  // A start and a heartbeat a minute; its end was never sent when a tab closed.
  const oldPerHour = (1 + 3600 / HEARTBEAT_SECONDS) * oldPerBeat;
  return {
    start: start.bytes,
    steady: steadyBytes,
    end: end.bytes,
    perHour,
    largestBody: Math.max(...sent.map((r) => r.body.byteLength)),
    oldPerBeat,
    oldPerHour,
  };
}

async function measureTabClose(chrome: RunningChromium, server: HarnessServer, collector: CollectorProcess): Promise<number> {
  let delivered = 0;
  for (let i = 0; i < CLOSED_TABS; i += 1) {
    const uid = `bench-close-${i}`;
    const { page, harness } = await openHarnessPage(chrome.context, server, `/d/${uid}/closing`);
    await harness.mount({ dashboard: { uid, title: 'Closing' }, options: { heartbeatIntervalSeconds: 3600, exportIntervalSeconds: 3600 } });
    await sleep(200);
    await page.close({ runBeforeUnload: true });
    const arrived = await waitFor(async () => {
      const { samples } = await scrape(collector.url);
      return sumOf(samples, 'footfall_dashboard_session_duration_seconds_count', { dashboard_uid: uid }) === 1;
    }, 5_000);
    if (arrived) delivered += 1;
  }
  return delivered;
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

async function main(): Promise<void> {
  const moduleJs = readFileSync(`${DIST}/module.js`);
  const gzip = gzipSync(moduleJs, { level: 9 }).byteLength;
  log(`module.js ${kb(moduleJs.byteLength)}, gzip ${kb(gzip)}`);

  const collector = await spawnCollector();
  const server = await startHarnessServer({ set: SET, pluginDir: DIST, upstream: collector.url });
  const chrome = await launchChromium();
  try {
    const chromiumVersion = chrome.browser.version();
    const wire = await measureWire(chrome, server, collector);
    log(`wire: ${kb(wire.perHour)} per session-hour, old panel ${kb(wire.oldPerHour)}`);
    const closed = await measureTabClose(chrome, server, collector);
    log(`tab close: ${closed}/${CLOSED_TABS} session ends delivered`);

    const revision = currentRevision();
    const ratio = wire.perHour / wire.oldPerHour;
    const markdown = `## Panel

Measured by \`npm run bench:panel\` (\`bench/panel.ts\`) on the browser harness: Chromium ${chromiumVersion} (Debian)
loading the built \`packages/panel/dist/module.js\` through SystemJS with Grafana ${SET.name.replace('grafana-', '')}.x shared
modules, sending through the harness's proxy to the real collector. Sizes and counts, not timings, so
one run is enough.

- Date: ${new Date().toISOString()}
- Code: commit ${revision?.commit ?? 'unknown'}

| figure | value | goal |
| --- | ---: | --- |
| \`dist/module.js\` gzip -9 (minified ${kb(moduleJs.byteLength)}) | **${kb(gzip)}** | ≤ 30 KB |
| bytes on the wire per session-hour, 60 s heartbeat | **${kb(wire.perHour)}** (${(ratio * 100).toFixed(0)} % of the old panel's ${kb(wire.oldPerHour)}) | ≤ half of the old panel's |
| session ends delivered when the tab was closed | **${closed} / ${CLOSED_TABS}** (${((closed / CLOSED_TABS) * 100).toFixed(0)} %) | 100 % |

How the wire figure is made: one session with two variables and a relative time range, at the
default options (heartbeat every ${HEARTBEAT_SECONDS} s, export every ${DEFAULT_OPTIONS.exportIntervalSeconds} s) run ${SPEED_UP} times faster, which
gives the same bodies: each steady export is one heartbeat count and the engaged seconds since the last.
Request line, headers (with Grafana's session cookie) and body per request: start export ${wire.start} B,
steady export ${wire.steady} B (median of ${STEADY_EXPORTS}), end export ${wire.end} B; an hour is the start, ${EXPORTS_PER_HOUR - 2} steady
exports and the end. A tab that is hidden and shown again also sends when it is hidden. The old panel posted its whole JSON body (${wire.oldPerBeat} B with the same headers,
rebuilt in \`bench/old-panel-payload.ts\` for the same user, dashboard and variables) at the start and on
every 60 s heartbeat. The largest body the panel sent was ${wire.largestBody} B, against the browser's 64 KiB
keepalive budget.

## Where the panel is against its targets

- Bundle: ${kb(gzip)} gzip against ≤ 30 KB — ${gzip <= 30 * 1024 ? 'met' : '**not met**'}.
- Wire: ${(ratio * 100).toFixed(0)} % of the old panel's bytes per session-hour against ≤ 50 % — ${ratio <= 0.5 ? 'met' : '**not met**'}.
- Tab close: ${closed} of ${CLOSED_TABS} session ends delivered against 100 % — ${closed === CLOSED_TABS ? 'met' : '**not met**'}.
`;
    writeBenchmarkSection(fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url)), 'panel', markdown);
    log('BENCHMARKS.md written (panel part)');
  } finally {
    await chrome.close();
    await server.close();
    await collector.stop();
  }
}

await main();
