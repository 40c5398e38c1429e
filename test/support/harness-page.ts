/**
 * A browser tab on the harness: a Grafana page URL, the panel loaded (`openHarnessPage`) or the app
 * plugins preloaded by the page itself (`openAppPage`), and `window.footfallHarness` callable from
 * the test with types.
 */
import type { BrowserContext, Page } from 'playwright-core';
import type { FootfallHarness } from '../browser/host/harness-api.ts';
import type { BootDataPatch } from './boot-data.ts';
import { PLUGIN_PATH, type HarnessServer } from './harness-server.ts';

/** `window.footfallHarness` seen from the test: every method is a `page.evaluate`, so it returns a promise. */
export type RemoteHarness = {
  readonly [K in keyof FootfallHarness]: (
    ...args: Parameters<FootfallHarness[K]>
  ) => Promise<Awaited<ReturnType<FootfallHarness[K]>>>;
};

type HarnessMethods = Record<string, (...args: unknown[]) => unknown>;

// Listed so the compiler flags a method added to FootfallHarness but not forwarded here.
const METHODS: Record<keyof FootfallHarness, true> = {
  load: true,
  mount: true,
  unmount: true,
  navigate: true,
  openDashboard: true,
  setVariable: true,
  setTimeRange: true,
  emitDataRequest: true,
  loadDashboard: true,
  visitDashboard: true,
  visitExplore: true,
  visit: true,
  appPreloads: true,
  versions: true,
  location: true,
  errors: true,
};

export function remoteHarness(page: Page): RemoteHarness {
  const call = (name: string, args: unknown[]) =>
    page.evaluate(
      ([method, values]) =>
        (globalThis as unknown as { footfallHarness: HarnessMethods }).footfallHarness[method]!(...values),
      [name, args] as const
    );
  return Object.fromEntries(
    Object.keys(METHODS).map((name) => [name, (...args: unknown[]) => call(name, args)])
  ) as RemoteHarness;
}

/**
 * Waits for the page hub to have loaded footfall's tracker (`footfall-model.js`, which a plugin's
 * module loads once there is something to track); true if one was loaded, false where none will be
 * (an image-renderer page, or no footfall plugin on the page).
 */
export async function trackerLoaded(page: Page): Promise<boolean> {
  return page.evaluate(async () => {
    const hub = (globalThis as unknown as Record<symbol, { ready(): Promise<unknown> } | undefined>)[
      Symbol.for('footfall.page-hub')
    ];
    return (await hub?.ready()) !== undefined;
  });
}

export interface HarnessPage {
  readonly page: Page;
  readonly harness: RemoteHarness;
}

/**
 * Opens `path` (sub-path free, e.g. `/d/uid/slug?var-env=prod`) in a new tab of `context`, brings
 * it to the front (visible and focused, as the tab a user looks at), and loads the plugin.
 */
export async function openHarnessPage(
  context: BrowserContext,
  server: HarnessServer,
  path: string,
  options: { readonly bootData?: BootDataPatch } = {}
): Promise<HarnessPage> {
  const page = await context.newPage();
  if (options.bootData) {
    await page.addInitScript((patch) => {
      (globalThis as unknown as { footfallBootDataPatch: BootDataPatch }).footfallBootDataPatch = patch;
    }, options.bootData);
  }
  await page.goto(server.pageUrl(path));
  await page.bringToFront();
  const harness = remoteHarness(page);
  await harness.load(`${PLUGIN_PATH}/module.js`);
  return { page, harness };
}

export interface AppPageOptions {
  readonly bootData?: BootDataPatch;
  /**
   * An image-renderer session: boot data `user.authenticatedBy: 'render'`. The path should then be
   * the renderer's, e.g. `/d-solo/<uid>/<slug>?orgId=1&panelId=2&render=1`.
   */
  readonly render?: boolean;
  /**
   * Whether to wait for the page's app preload to end before resolving; defaults to true. Pass false
   * when the test holds back the settings or a module (`server.hold`), to act while it is pending.
   */
  readonly awaitPreload?: boolean;
  /** Runs on the new tab before it loads `path`, e.g. to attach a CDP session that must see the whole load. */
  readonly beforeLoad?: (page: Page) => Promise<void>;
}

export interface AppPage extends HarnessPage {
  /** The text of every `console.error` on the page so far (Grafana logs a failed preload there). */
  readonly consoleErrors: readonly string[];
}

/**
 * Opens `path` (sub-path free) in a new tab of `context`, in front, as a full page load of Grafana:
 * the page preloads the server's app plugins by itself, as Grafana does at boot, and renders no panel.
 * Resolves once the page's scripts have run (and, by default, the preload has ended).
 */
export async function openAppPage(
  context: BrowserContext,
  server: HarnessServer,
  path: string,
  options: AppPageOptions = {}
): Promise<AppPage> {
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') {
      consoleErrors.push(message.text());
    }
  });
  const patch: BootDataPatch = {
    ...options.bootData,
    user: { ...(options.render ? { authenticatedBy: 'render' } : {}), ...options.bootData?.user },
  };
  await page.addInitScript((value) => {
    (globalThis as unknown as { footfallBootDataPatch: BootDataPatch }).footfallBootDataPatch = value;
  }, patch);
  await options.beforeLoad?.(page);
  // Not `load`: a held module script would hold the load event too.
  await page.goto(server.pageUrl(path), { waitUntil: 'domcontentloaded' });
  await page.bringToFront();
  const harness = remoteHarness(page);
  if (options.awaitPreload ?? true) {
    await harness.appPreloads();
  }
  return { page, harness, consoleErrors };
}
