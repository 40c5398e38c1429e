/**
 * A browser tab on the harness: a Grafana dashboard URL, the plugin loaded, and
 * `window.footfallHarness` callable from the test with types.
 */
import type { BrowserContext, Page } from 'playwright-core';
import type { FootfallHarness } from '../browser/host/harness-api.ts';
import type { BootDataPatch } from './boot-data.ts';
import { PLUGIN_PATH, type HarnessServer } from './harness-server.ts';

/** `window.footfallHarness` seen from the test: every method is a `page.evaluate`, so it returns a promise. */
export type RemoteHarness = {
  readonly [K in keyof FootfallHarness]: (...args: Parameters<FootfallHarness[K]>) => Promise<Awaited<ReturnType<FootfallHarness[K]>>>;
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
  versions: true,
  location: true,
  errors: true,
};

export function remoteHarness(page: Page): RemoteHarness {
  const call = (name: string, args: unknown[]) =>
    page.evaluate(
      ([method, values]) => (globalThis as unknown as { footfallHarness: HarnessMethods }).footfallHarness[method]!(...values),
      [name, args] as const,
    );
  return Object.fromEntries(Object.keys(METHODS).map((name) => [name, (...args: unknown[]) => call(name, args)])) as RemoteHarness;
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
  options: { readonly bootData?: BootDataPatch } = {},
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
