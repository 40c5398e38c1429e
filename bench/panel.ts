/**
 * `npm run bench:panel`: the figures of the panel and of the app plugin, measured on the browser
 * harness (Debian Chromium, Grafana 13.2's shared modules, the built plugins loaded through SystemJS)
 * against the real collector, then written into the panel part of BENCHMARKS.md.
 *
 * - the gzip size of the panel's `dist/module.js`;
 * - bytes on the wire per session-hour at a 60 s heartbeat and the default export interval, against the
 *   old panel's full JSON body per beat. Time runs 60 times faster (a 1 s heartbeat, exports every
 *   default-interval / 60), which gives the same bodies, only sooner: DELTA sums carry the count of
 *   heartbeats, not one point per beat. An hour is the start export, the steady exports and the end
 *   export. Each request counts its request line, headers and body as the server received them;
 * - the share of sessions whose end reached the collector when the tab was closed, with export and
 *   heartbeat intervals of an hour, so only the pagehide flush can have delivered it;
 * - the app's boot cost, preloaded as Grafana does on every page, against an app that does nothing
 *   (see app-boot.ts), and the sizes of its `module.js` and `footfall-model.js`.
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
import {
  APP_DIST,
  BOOT_APPS,
  BOOT_PAGES,
  measureAppBoot,
  type AppBoot,
  type BootFigures,
  type BootPage,
} from './app-boot.ts';
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
/** Cold loads per app and page: each is a few seconds here (the harness's host bundle is 19 MB, never cached). */
const APP_LOADS = Number(process.env.BENCH_APP_LOADS) > 0 ? Number(process.env.BENCH_APP_LOADS) : 11;
const EXPORTS_PER_HOUR = 3600 / DEFAULT_OPTIONS.exportIntervalSeconds;
const VARIABLES = [
  { name: 'env', values: ['prod'] },
  { name: 'host', values: ['web-1'] },
];

function log(message: string): void {
  process.stderr.write(`[bench:panel] ${message}\n`);
}

/** Request line, headers and body, as HTTP/1.1 puts them on the wire. */
function wireBytes(
  request: Pick<CollectorRequest, 'path' | 'headers'>,
  bodyBytes: number,
  overrides: Record<string, string> = {}
): number {
  const headers = { ...request.headers, ...overrides, 'content-length': String(bodyBytes) };
  let bytes = `POST ${request.path} HTTP/1.1\r\n`.length + 2;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== undefined) {
        bytes += `${name}: ${v}\r\n`.length;
      }
    }
  }
  return bytes + bodyBytes;
}

function metricNames(body: Buffer): Set<string> {
  const parsed = JSON.parse(body.toString('utf8')) as {
    resourceMetrics: Array<{ scopeMetrics: Array<{ metrics: Array<{ name: string }> }> }>;
  };
  return new Set(parsed.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.name))));
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) {
      return true;
    }
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

async function measureWire(
  chrome: RunningChromium,
  server: HarnessServer,
  collector: CollectorProcess
): Promise<WireResult> {
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
  if (!ended) {
    throw new Error('the session end never reached the collector');
  }

  const sent = server.requests.slice(first).filter((r) => r.method === 'POST' && r.status === 200);
  const classified = sent.map((r) => ({
    request: r,
    names: metricNames(r.body),
    bytes: wireBytes(r, r.body.byteLength),
  }));
  const start = classified.find((c) => c.names.has('grafana.dashboard.sessions'));
  const end = classified.find((c) => c.names.has('grafana.dashboard.session.duration'));
  const steady = classified.filter((c) => c !== start && c !== end && c.names.has('grafana.dashboard.heartbeats'));
  if (!start || !end || steady.length === 0) {
    throw new Error(`unexpected exports: ${classified.map((c) => [...c.names].join('+')).join(', ')}`);
  }
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
    'heartbeat'
  );
  const oldPerBeat = wireBytes(steady[0]!.request, Buffer.byteLength(oldBody), {
    'content-type': 'text/plain;charset=UTF-8',
  });
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

async function measureTabClose(
  chrome: RunningChromium,
  server: HarnessServer,
  collector: CollectorProcess
): Promise<number> {
  let delivered = 0;
  for (let i = 0; i < CLOSED_TABS; i += 1) {
    const uid = `bench-close-${i}`;
    const { page, harness } = await openHarnessPage(chrome.context, server, `/d/${uid}/closing`);
    await harness.mount({
      dashboard: { uid, title: 'Closing' },
      options: { heartbeatIntervalSeconds: 3600, exportIntervalSeconds: 3600 },
    });
    await sleep(200);
    await page.close({ runBeforeUnload: true });
    const arrived = await waitFor(async () => {
      const { samples } = await scrape(collector.url);
      return sumOf(samples, 'footfall_dashboard_session_duration_seconds_count', { dashboard_uid: uid }) === 1;
    }, 5_000);
    if (arrived) {
      delivered += 1;
    }
  }
  return delivered;
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

interface FileSize {
  readonly minified: number;
  readonly gzip: number;
}

function sizeOf(file: string): FileSize {
  const content = readFileSync(file);
  return { minified: content.byteLength, gzip: gzipSync(content, { level: 9 }).byteLength };
}

const ratio = (value: number, baseline: number): string => (baseline > 0 ? `${(value / baseline).toFixed(1)}×` : '—');

/** The rows of one page in the app boot table: empty app, footfall's app, the difference and the ratio. */
function appBootRows(boot: AppBoot, page: BootPage): string {
  const { empty, footfall } = boot.figures[page];
  const files = ['settings', ...boot.files[page].footfall.filter((f) => f !== 'settings')].join(', ');
  const rows: Array<[string, keyof BootFigures, (v: number) => string]> = [
    [
      'script time, settings request → preload ended' + (page === 'dashboard' ? ' → tracker started' : ''),
      'scriptMs',
      (v) => `${v.toFixed(2)} ms`,
    ],
    ['main-thread task time, same window', 'taskMs', (v) => `${v.toFixed(1)} ms`],
    ['JS heap kept, after a full GC', 'heapBytes', kb],
    [`bytes fetched for the app (${files})`, 'fetchedBytes', kb],
  ];
  const label = page === 'explore' ? `\`${BOOT_PAGES.explore}\` (no dashboard)` : 'a dashboard (`/d/…`)';
  return rows
    .map(([figure, key, format], i) => {
      const sign = footfall[key] - empty[key] >= 0 ? '+' : '−';
      const difference = `${sign}${format(Math.abs(footfall[key] - empty[key]))}`;
      return `| ${i === 0 ? label : ''} | ${figure} | ${format(empty[key])} | **${format(footfall[key])}** | ${difference} | ${ratio(footfall[key], empty[key])} |`;
    })
    .join('\n');
}

async function main(): Promise<void> {
  const panelModule = sizeOf(`${DIST}/module.js`);
  const panelModel = sizeOf(`${DIST}/footfall-model.js`);
  const appModule = sizeOf(`${APP_DIST}/module.js`);
  const appModel = sizeOf(`${APP_DIST}/footfall-model.js`);
  log(
    `panel module.js ${kb(panelModule.minified)}, gzip ${kb(panelModule.gzip)}; app module.js gzip ${kb(appModule.gzip)}, footfall-model.js gzip ${kb(appModel.gzip)}`
  );

  const collector = await spawnCollector();
  const server = await startHarnessServer({ set: SET, pluginDir: DIST, upstream: collector.url });
  const chrome = await launchChromium();
  try {
    const chromiumVersion = chrome.browser.version();
    const wire = await measureWire(chrome, server, collector);
    log(`wire: ${kb(wire.perHour)} per session-hour, old panel ${kb(wire.oldPerHour)}`);
    const closed = await measureTabClose(chrome, server, collector);
    log(`tab close: ${closed}/${CLOSED_TABS} session ends delivered`);
    const boot = await measureAppBoot(chrome, SET, collector.url, APP_LOADS, log);
    const { explore, dashboard } = boot.figures;
    const [lo, hi] = [boot.lowest.explore.empty, boot.highest.explore.empty];
    const widest = (key: keyof BootFigures): number =>
      Math.max(
        ...BOOT_APPS.flatMap((app) =>
          (Object.keys(BOOT_PAGES) as BootPage[]).map(
            (page) => boot.highest[page][app][key] - boot.lowest[page][app][key]
          )
        )
      );
    log(
      `app boot script time: ${explore.footfall.scriptMs.toFixed(2)} ms vs ${explore.empty.scriptMs.toFixed(2)} ms without a dashboard, ${dashboard.footfall.scriptMs.toFixed(2)} ms vs ${dashboard.empty.scriptMs.toFixed(2)} ms on one`
    );

    const revision = currentRevision();
    const wireRatio = wire.perHour / wire.oldPerHour;
    const gzip = panelModule.gzip;
    const markdown = `## Panel and app

Measured by \`npm run bench:panel\` (\`bench/panel.ts\`, \`bench/app-boot.ts\`) on the browser harness: Chromium ${chromiumVersion} (Debian)
loading the built \`packages/panel/dist/module.js\` and \`packages/app/dist/module.js\` through SystemJS with Grafana ${SET.name.replace('grafana-', '')}.x shared
modules, sending through the harness's proxy to the real collector. The panel's figures are sizes and
counts, not timings, so one run is enough; the app's boot figures are timings, medians of ${boot.loads} cold page
loads each, set against an app that does nothing measured in the same run.

- Date: ${new Date().toISOString()}
- Code: commit ${revision?.commit ?? 'unknown'}

| figure | value | goal |
| --- | ---: | --- |
| panel \`dist/module.js\` gzip -9 (minified ${kb(panelModule.minified)}; the tracker, in \`footfall-model.js\`, ${kb(panelModel.gzip)} gzip, loads when the panel mounts) | **${kb(gzip)}** | ≤ 30 KB |
| bytes on the wire per session-hour, 60 s heartbeat | **${kb(wire.perHour)}** (${(wireRatio * 100).toFixed(0)} % of the old panel's ${kb(wire.oldPerHour)}) | ≤ half of the old panel's |
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

### App boot cost

Grafana imports a preloaded app's \`module.js\` at boot on every page of every user. Each load is a fresh
tab with every file uncached (the harness serves them \`no-store\`), the app preloaded by the page as
Grafana's boot does it (settings, then the module, then \`init\`), once with footfall's app and once with
\`bench/fixtures/empty-app\` (an \`AppPlugin\` whose \`init\` does nothing), taking turns going first.
Chromium's counters (CDP \`Performance.getMetrics\`) are read when the page asks for the app's settings
(held back until then, so the page's own boot is over) and again when the preload has ended — on a
dashboard, when the page hub's \`ready()\` has resolved as well, which includes loading \`footfall-model.js\`.
The window's difference is what the app cost the main thread; the footfall − empty column is what
footfall's app adds to an app that does nothing. Heap is read after a full GC at both ends. Bytes are
the transfer sizes (headers and body, not compressed: Grafana serves plugin files without gzip unless
\`enable_gzip\` is on) of the app's settings answer and the files fetched from its folder. The bench fails
if \`footfall-model.js\` is fetched on the page without a dashboard (checked on the server's request log
for every load) or not fetched on the dashboard.

| page | figure (median of ${boot.loads}) | empty app (baseline) | footfall app | footfall − empty | footfall ÷ empty |
| --- | --- | ---: | ---: | ---: | ---: |
${appBootRows(boot, 'explore')}
${appBootRows(boot, 'dashboard')}

How noisy: between loads of the same app and page, heap kept varied by at most ${kb(widest('heapBytes'))} and bytes
fetched by at most ${widest('fetchedBytes')} B. Times vary more: the empty app's window took
${lo.scriptMs.toFixed(2)} to ${hi.scriptMs.toFixed(2)} ms of script time and ${lo.taskMs.toFixed(1)} to ${hi.taskMs.toFixed(1)} ms of task time over its ${boot.loads} loads without a dashboard;
a difference smaller than that spread, and the ratio of two such times, is within this run's noise. For scale, the page's own script time before the window (Grafana's shared modules) had a
median of ${boot.pageScriptMs.median.toFixed(0)} ms over all ${boot.pageScriptMs.count} loads, from ${boot.pageScriptMs.min.toFixed(0)} to ${boot.pageScriptMs.max.toFixed(0)} ms — a spread far larger than anything
the app does, which is why the app is measured in its own window and not as whole-page totals.

| \`packages/app/dist\` | minified | gzip -9 | loaded |
| --- | ---: | ---: | --- |
| \`module.js\` | ${kb(appModule.minified)} | **${kb(appModule.gzip)}** | at boot, on every page |
| \`footfall-model.js\` | ${kb(appModel.minified)} | **${kb(appModel.gzip)}** | once there is a dashboard to track |

## Where the panel and the app are against their targets

- Panel bundle: ${kb(gzip)} gzip against ≤ 30 KB — ${gzip <= 30 * 1024 ? 'met' : '**not met**'}.
- Wire: ${(wireRatio * 100).toFixed(0)} % of the old panel's bytes per session-hour against ≤ 50 % — ${wireRatio <= 0.5 ? 'met' : '**not met**'}.
- Tab close: ${closed} of ${CLOSED_TABS} session ends delivered against 100 % — ${closed === CLOSED_TABS ? 'met' : '**not met**'}.
- App \`module.js\`, what every page loads: ${kb(appModule.gzip)} gzip against ≤ 30 KB — ${appModule.gzip <= 30 * 1024 ? 'met' : '**not met**'}; \`footfall-model.js\` (${kb(appModel.gzip)} gzip) stayed off the page without a dashboard in all ${boot.loads} loads.
- App boot without a dashboard: ${ratio(explore.footfall.scriptMs, explore.empty.scriptMs)} the empty app's script time (${explore.footfall.scriptMs.toFixed(2)} against ${explore.empty.scriptMs.toFixed(2)} ms), ${ratio(explore.footfall.taskMs, explore.empty.taskMs)} its task time, ${ratio(explore.footfall.heapBytes, explore.empty.heapBytes)} its heap, ${ratio(explore.footfall.fetchedBytes, explore.empty.fetchedBytes)} its bytes; on a dashboard, with the tracker loaded, ${ratio(dashboard.footfall.scriptMs, dashboard.empty.scriptMs)} the script time (${dashboard.footfall.scriptMs.toFixed(2)} against ${dashboard.empty.scriptMs.toFixed(2)} ms), ${ratio(dashboard.footfall.heapBytes, dashboard.empty.heapBytes)} the heap and ${ratio(dashboard.footfall.fetchedBytes, dashboard.empty.fetchedBytes)} the bytes. No target is set for these ratios.
`;
    await writeBenchmarkSection(fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url)), 'panel', markdown);
    log('BENCHMARKS.md written (panel and app part)');
  } finally {
    await chrome.close();
    await server.close();
    await collector.stop();
  }
}

await main();
