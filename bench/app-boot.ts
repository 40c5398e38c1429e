/**
 * The app plugin's boot cost, for `npm run bench:panel`. Grafana imports a preloaded app's module on
 * every page of every user, so what footfall's app costs there is measured against a baseline in the
 * same run: an app that does nothing (bench/fixtures/empty-app), on the same page, through the same
 * preloader. Each figure is the median of cold loads (the harness serves every file `no-store`), each in
 * a fresh tab, the two apps taking turns going first so a drift in the machine's load falls on both.
 *
 * Per load, Chromium's own counters (CDP `Performance.getMetrics`) are read twice: when the page asks
 * for the app's settings — held back by the server until then, so the page's own boot is over — and
 * once the preload has ended (on a dashboard page, once the page hub's `ready()` has resolved too, which
 * includes the lazy load of `footfall-model.js`). The difference is what the app cost on the main
 * thread. A whole-page total would not do: the page's own boot varies from load to load by far more
 * than the app costs; it is kept for scale.
 */
/// <reference lib="dom" />
import { fileURLToPath } from 'node:url';
import type { CDPSession } from 'playwright-core';
import type { AppPreloadResult } from '../test/browser/host/harness-api.ts';
import { APP_SUB_URL } from '../test/support/boot-data.ts';
import type { RunningChromium } from '../test/support/chromium.ts';
import { openAppPage } from '../test/support/harness-page.ts';
import { pluginPath, startHarnessServer, type HarnessServer } from '../test/support/harness-server.ts';
import { REPO_ROOT, type SharedModuleSet } from '../test/support/shared-module-sets.ts';
import { median } from './stats.ts';

export const APP_DIST = `${REPO_ROOT}/packages/app/dist`;
const APPS = {
  empty: { id: 'bench-empty-app', dir: fileURLToPath(new URL('./fixtures/empty-app', import.meta.url)) },
  footfall: { id: 'footfall-app', dir: APP_DIST },
} as const;
export type BenchApp = keyof typeof APPS;
export const BOOT_APPS = Object.keys(APPS) as BenchApp[];

const DASHBOARD = { uid: 'bench-app-boot', title: 'Service overview' };
/** A page without a dashboard (the app must not load its tracker there), and a dashboard page. */
export const BOOT_PAGES = { explore: '/explore', dashboard: `/d/${DASHBOARD.uid}/service-overview` } as const;
export type BootPage = keyof typeof BOOT_PAGES;

const MODEL_FILE = `${pluginPath(APPS.footfall.id)}/footfall-model.js`;

/** One page load's figures, or the medians of several. */
export interface BootFigures {
  /** Script time (`ScriptDuration`) between the settings request and the end of the preload (or the tracker's start). */
  readonly scriptMs: number;
  /** Main-thread task time (`TaskDuration`) in the same window: scripts, and the fetches, parsing and IPC around them. */
  readonly taskMs: number;
  /** JS heap (`JSHeapUsedSize`) after a full GC at the end, less the same before. */
  readonly heapBytes: number;
  /** The app's settings answer and the files fetched from its folder, as transferred (headers and body). */
  readonly fetchedBytes: number;
}

export interface AppBoot {
  readonly loads: number;
  readonly figures: Record<BootPage, Record<BenchApp, BootFigures>>;
  /** The lowest and highest of each figure over the loads: how noisy the medians are. */
  readonly lowest: Record<BootPage, Record<BenchApp, BootFigures>>;
  readonly highest: Record<BootPage, Record<BenchApp, BootFigures>>;
  /**
   * The page's own script time before the window (Grafana's shared modules, the host), over every load:
   * for scale, and to show how much a whole-page total varies from load to load.
   */
  readonly pageScriptMs: {
    readonly median: number;
    readonly min: number;
    readonly max: number;
    readonly count: number;
  };
  /** What each app fetched on each page, by file name. */
  readonly files: Record<BootPage, Record<BenchApp, readonly string[]>>;
}

type Metrics = Record<string, number>;

async function metrics(cdp: CDPSession): Promise<Metrics> {
  const { metrics: list } = await cdp.send('Performance.getMetrics');
  return Object.fromEntries(list.map((m) => [m.name, m.value]));
}

const counter = (m: Metrics, name: string): number => {
  const value = m[name];
  if (value === undefined) {
    throw new Error(`Chromium reported no ${name}`);
  }
  return value;
};

interface Load {
  readonly figures: BootFigures;
  readonly files: readonly string[];
  readonly pageScriptMs: number;
}

async function measureLoad(
  chrome: RunningChromium,
  server: HarnessServer,
  app: BenchApp,
  page: BootPage
): Promise<Load> {
  const { id } = APPS[app];
  for (const other of BOOT_APPS) {
    server.updateApp(APPS[other].id, { enabled: other === app });
  }
  const held = server.hold(`${APP_SUB_URL}/api/plugins/${id}/settings`);
  const firstRequest = server.grafanaRequests.length;
  let cdp: CDPSession | undefined;
  const opened = await openAppPage(chrome.context, server, BOOT_PAGES[page], {
    awaitPreload: false,
    // Before the page loads: `Performance.enable` starts the counters from zero.
    beforeLoad: async (tab) => {
      cdp = await tab.context().newCDPSession(tab);
      await cdp.send('Performance.enable');
    },
  });
  try {
    const session = cdp!;
    await held.arrived;
    if (page === 'dashboard') {
      await opened.harness.loadDashboard({ dashboard: DASHBOARD });
    }
    await session.send('HeapProfiler.collectGarbage');
    const before = await metrics(session);
    held.release();
    // One call for both apps; the hub's ready() only on a dashboard, where the app starts its tracker anyway.
    const outcome = await opened.page.evaluate(async (awaitTracker) => {
      const harness = (globalThis as unknown as { footfallHarness: { appPreloads(): Promise<AppPreloadResult[]> } })
        .footfallHarness;
      const preloads = await harness.appPreloads();
      const hub = (globalThis as unknown as Record<symbol, { ready(): Promise<unknown> } | undefined>)[
        Symbol.for('footfall.page-hub')
      ];
      const tracker = awaitTracker && hub ? await hub.ready() : undefined;
      return { preloads, tracking: tracker !== undefined };
    }, page === 'dashboard');
    const after = await metrics(session);
    await session.send('HeapProfiler.collectGarbage');
    const heapAfter = counter(await metrics(session), 'JSHeapUsedSize');

    if (outcome.preloads.length !== 1 || outcome.preloads[0]?.outcome !== 'loaded') {
      throw new Error(`${id} did not preload on ${BOOT_PAGES[page]}: ${JSON.stringify(outcome.preloads)}`);
    }
    if (app === 'footfall' && page === 'dashboard' && !outcome.tracking) {
      throw new Error(`footfall's tracker did not start on ${BOOT_PAGES[page]}`);
    }
    const errors = await opened.harness.errors();
    if (errors.length > 0) {
      throw new Error(`errors on the page with ${id}: ${errors.join('\n')}`);
    }

    const prefixes = [`${APP_SUB_URL}/api/plugins/${id}/`, `${pluginPath(id)}/`];
    const fetched = await opened.page.evaluate(
      (paths) =>
        performance
          .getEntriesByType('resource')
          .map((entry) => entry as PerformanceResourceTiming)
          .filter((entry) => paths.some((path) => new URL(entry.name).pathname.startsWith(path)))
          .map((entry) => ({ file: new URL(entry.name).pathname.split('/').at(-1) ?? '', bytes: entry.transferSize })),
      prefixes
    );
    return {
      figures: {
        scriptMs: (counter(after, 'ScriptDuration') - counter(before, 'ScriptDuration')) * 1000,
        taskMs: (counter(after, 'TaskDuration') - counter(before, 'TaskDuration')) * 1000,
        heapBytes: heapAfter - counter(before, 'JSHeapUsedSize'),
        fetchedBytes: fetched.reduce((sum, f) => sum + f.bytes, 0),
      },
      files: fetched.map((f) => f.file),
      pageScriptMs: counter(before, 'ScriptDuration') * 1000,
    };
  } finally {
    held.release();
    await opened.page.close();
    // From the server's log, not the page's: a fetch still under way when the tab closed counts too.
    const modelFetched = server.grafanaRequests.slice(firstRequest).some((r) => r.url.split('?')[0] === MODEL_FILE);
    if (page === 'explore' && modelFetched) {
      throw new Error(`footfall-model.js was fetched on ${BOOT_PAGES.explore}, a page without a dashboard`);
    }
    if (app === 'footfall' && page === 'dashboard' && !modelFetched) {
      throw new Error('footfall-model.js was not fetched on the dashboard page');
    }
  }
}

function summary(loads: readonly Load[], of: (values: number[]) => number): BootFigures {
  const figure = (key: keyof BootFigures) => of(loads.map((l) => l.figures[key]));
  return {
    scriptMs: figure('scriptMs'),
    taskMs: figure('taskMs'),
    heapBytes: figure('heapBytes'),
    fetchedBytes: figure('fetchedBytes'),
  };
}

/** `loads` cold page loads per app and page; `upstream` takes what footfall's tracker sends when a tab closes. */
export async function measureAppBoot(
  chrome: RunningChromium,
  set: SharedModuleSet,
  upstream: string,
  loads: number,
  log: (message: string) => void
): Promise<AppBoot> {
  const server = await startHarnessServer({
    set,
    apps: Object.values(APPS).map(({ dir }) => ({ dir })),
    dashboards: [DASHBOARD],
    upstream,
  });
  const results: Record<BootPage, Record<BenchApp, Load[]>> = {
    explore: { empty: [], footfall: [] },
    dashboard: { empty: [], footfall: [] },
  };
  try {
    for (let i = 0; i < loads; i += 1) {
      const order: BenchApp[] = i % 2 === 0 ? ['empty', 'footfall'] : ['footfall', 'empty'];
      for (const page of Object.keys(BOOT_PAGES) as BootPage[]) {
        for (const app of order) {
          results[page][app].push(await measureLoad(chrome, server, app, page));
        }
      }
      log(`app boot: ${i + 1}/${loads} rounds of cold loads`);
    }
  } finally {
    await server.close();
  }
  const per = <T>(fn: (loads: Load[]) => T): Record<BootPage, Record<BenchApp, T>> => ({
    explore: { empty: fn(results.explore.empty), footfall: fn(results.explore.footfall) },
    dashboard: { empty: fn(results.dashboard.empty), footfall: fn(results.dashboard.footfall) },
  });
  const pageScript = Object.values(results).flatMap((byApp) =>
    Object.values(byApp).flatMap((l) => l.map((load) => load.pageScriptMs))
  );
  return {
    loads,
    figures: per((l) => summary(l, median)),
    lowest: per((l) => summary(l, (v) => Math.min(...v))),
    highest: per((l) => summary(l, (v) => Math.max(...v))),
    files: per((l) => [...new Set(l.flatMap((load) => load.files))]),
    pageScriptMs: {
      median: median(pageScript),
      min: Math.min(...pageScript),
      max: Math.max(...pageScript),
      count: pageScript.length,
    },
  };
}
