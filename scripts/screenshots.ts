/**
 * `npm run screenshots`: the catalog screenshots of both plugins, taken in Debian's Chromium on the
 * browser harness (test/support), with Grafana 13.2's real @grafana/ui, data and runtime as shared
 * modules and the BUILT plugins (packages/*\/dist) loaded through SystemJS, in Grafana's default dark
 * theme. Builds nothing: run `npm run build` first.
 *
 * - `packages/app/src/img/screenshot-config.png`: the app's configuration page (its `configPages`
 *   body, as Grafana shows it under the app's settings) for a fresh install, enabled, no jsonData;
 *   a 1280×720 viewport at a device scale factor of 1, the whole page (the form is a little taller).
 * - `packages/panel/src/img/screenshot-debug.png`: the panel with its debug option on, in a panel frame
 *   (@grafana/ui's PanelChrome) on a dashboard, its live state after it started a session and
 *   delivered an export through the harness's collector proxy to the built collector; 640×360 at a
 *   device scale factor of 2.
 *
 * The harness renders a panel plugin through its own React root inside Grafana's ThemeContext; each
 * screenshot is a small stage panel defined in the page, which draws Grafana's global styles (body
 * background, fonts) and the real component. The clock starts at a fixed time and the page's random
 * numbers are seeded, so the session id and times come out the same on every run.
 */
// page.evaluate callbacks run in the page, with its DOM:
/// <reference lib="dom" />
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as GrafanaData from '@grafana/data';
import type * as GrafanaUi from '@grafana/ui';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import type * as ReactModule from 'react';
import type { PageHub } from '../packages/browser/src/hub.ts';
import { launchChromium, type RunningChromium } from '../test/support/chromium.ts';
import { spawnCollector, type CollectorProcess } from '../test/support/collector-process.ts';
import { openAppPage, type RemoteHarness } from '../test/support/harness-page.ts';
import { PLUGIN_PATH, pluginPath, startHarnessServer, type HarnessServer } from '../test/support/harness-server.ts';
import { REPO_ROOT, sharedModuleSet } from '../test/support/shared-module-sets.ts';

export const APP_DIST = join(REPO_ROOT, 'packages/app/dist');
export const PANEL_DIST = join(REPO_ROOT, 'packages/panel/dist');
/** The newest Grafana the harness runs: React 19, Grafana's current look. */
export const SCREENSHOT_SET = sharedModuleSet('grafana-13');
/** Every page's clock starts here (UTC). */
export const CLOCK_START = Date.UTC(2026, 0, 15, 9, 30, 0);
/** The dashboard the debug view's panel sits on. */
export const DEBUG_DASHBOARD = { uid: 'checkout-latency', title: 'Checkout latency' };

/** @grafana/ui's icons, which Grafana's build copies to `public/build/img/icons/`. */
const ICONS = join(SCREENSHOT_SET.root, 'node_modules/@grafana/ui/dist/public/img/icons');
const ICON_URL = /\/public\/build\/img\/icons\/((?:[\w-]+\/)*[\w-]+\.svg)$/;
/** Grafana's Inter files (public/fonts/inter/, not in any npm package), served from the system's Inter when installed. */
const FONT_URL = /\/public\/fonts\/inter\/(Inter-[A-Za-z]+)\.woff2$/;

/** The id under which a stage module is put in SystemJS's registry (a URL, as the registry wants). */
const STAGE_MODULE = 'footfall-screenshot:stage';

export interface Screenshot {
  /** Also the `name` in plugin.json's `info.screenshots`. */
  readonly name: string;
  /** Where the PNG goes, relative to the repository. */
  readonly file: string;
  readonly viewport: { readonly width: number; readonly height: number };
  readonly deviceScaleFactor: number;
  /** Opens the page in `stage`, ready to be photographed. */
  open(stage: ScreenshotStage): Promise<Page>;
}

/** Chromium, the collector and one harness server per screenshot, shared by the screenshots of a run. */
export interface ScreenshotStage {
  readonly browser: Browser;
  /** The built collector the panel's proxy forwards to. */
  readonly collector: CollectorProcess;
  /** A fresh context per page: its own viewport, scale, clock and seed. */
  newContext(shot: Screenshot): Promise<BrowserContext>;
  /** A harness server for the set, closed with the stage. */
  serve(options: Omit<Parameters<typeof startHarnessServer>[0], 'set'>): Promise<HarnessServer>;
  close(): Promise<void>;
}

/**
 * Inter's static fonts as fontconfig knows them (Debian's fonts-inter), by Grafana's file name
 * (`Inter-Regular`, `Inter-Medium`, …); empty without them, and the pages fall back to Grafana's
 * next font family.
 */
export function systemInterFonts(): ReadonlyMap<string, string> {
  let listing: string;
  try {
    listing = execFileSync('fc-list', ['Inter', 'file'], { encoding: 'utf8' });
  } catch {
    return new Map();
  }
  const fonts = new Map<string, string>();
  for (const line of listing.split('\n')) {
    const file = line.replace(/:\s*$/, '').trim();
    const match = /\/(Inter-[A-Za-z]+)\.(?:otf|ttf)$/.exec(file);
    if (match) {
      fonts.set(match[1]!, file);
    }
  }
  return fonts;
}

/** Throws, saying what to run, when a plugin is not built. */
export function requireBuiltPlugins(): void {
  for (const dir of [APP_DIST, PANEL_DIST]) {
    for (const file of ['module.js', 'plugin.json']) {
      if (!existsSync(join(dir, file))) {
        throw new Error(`${relative(REPO_ROOT, join(dir, file))} is missing: run \`npm run build\` first`);
      }
    }
  }
}

export async function startScreenshotStage(): Promise<ScreenshotStage> {
  requireBuiltPlugins();
  let chrome: RunningChromium | undefined;
  let collector: CollectorProcess | undefined;
  const servers: HarnessServer[] = [];
  try {
    [chrome, collector] = await Promise.all([launchChromium(), spawnCollector()]);
  } catch (error) {
    await chrome?.close();
    await collector?.stop();
    throw error;
  }
  const running = chrome;
  const browser = running.browser;
  const fonts = systemInterFonts();
  return {
    browser,
    collector,
    async newContext(shot) {
      // A context of its own, not the browser's default one: its pages are always visible and focused
      // (Playwright's focus emulation), which a screenshot wants.
      const context = await browser.newContext({
        viewport: shot.viewport,
        deviceScaleFactor: shot.deviceScaleFactor,
        colorScheme: 'dark',
        locale: 'en-US',
        timezoneId: 'UTC',
        reducedMotion: 'reduce',
      });
      // What Grafana's server has under public/ and the harness does not serve: icons and fonts.
      await context.route(ICON_URL, (route) => {
        const file = join(ICONS, ICON_URL.exec(new URL(route.request().url()).pathname)![1]!);
        return existsSync(file)
          ? route.fulfill({ contentType: 'image/svg+xml', body: readFileSync(file) })
          : route.fulfill({ status: 404 });
      });
      await context.route(FONT_URL, (route) => {
        const file = fonts.get(FONT_URL.exec(new URL(route.request().url()).pathname)![1]!);
        return file
          ? route.fulfill({ contentType: 'font/otf', body: readFileSync(file) })
          : route.fulfill({ status: 404 });
      });
      await context.clock.install({ time: CLOCK_START });
      await context.addInitScript(seedRandomValues);
      return context;
    },
    async serve(options) {
      const server = await startHarnessServer({ set: SCREENSHOT_SET, ...options });
      servers.push(server);
      return server;
    },
    async close() {
      await running.close();
      await Promise.all(servers.map((server) => server.close()));
      await collector?.stop();
    },
  };
}

/** Runs in the page before its scripts: `crypto.getRandomValues` from a fixed seed (xorshift32). */
function seedRandomValues(): void {
  let state = 0x2545f491;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  crypto.getRandomValues = <T extends ArrayBufferView | null>(array: T): T => {
    if (array) {
      const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      for (let i = 0; i < bytes.length; i++) {
        bytes[i] = next() & 0xff;
      }
    }
    return array;
  };
}

/** What a stage shows; plain JSON, for page.evaluate. */
type StageSpec =
  | { readonly kind: 'config-page'; readonly appModule: string; readonly pageId: string }
  | {
      readonly kind: 'panel';
      readonly panelModule: string;
      readonly title: string;
      readonly width: number;
      readonly height: number;
    };

/**
 * Runs in the page: puts a panel plugin into SystemJS's registry under `moduleId` whose panel draws
 * Grafana's global styles and the component `spec` names, from the page's shared modules (the same
 * React, @grafana/data and @grafana/ui instances the plugins get).
 */
async function defineStage([moduleId, spec]: readonly [string, StageSpec]): Promise<void> {
  interface PageSystem {
    get(id: string): unknown;
    set(id: string, module: object): void;
    import(id: string): Promise<Record<string, unknown>>;
  }
  const system = (window as unknown as { System: PageSystem }).System;
  const react = system.get('package:react') as typeof ReactModule;
  const data = system.get('package:@grafana/data') as typeof GrafanaData;
  const ui = system.get('package:@grafana/ui') as typeof GrafanaUi;
  const h = react.createElement;
  // Grafana's own stylesheet (which the harness does not serve) zeroes the body's margin.
  document.body.style.margin = '0';

  // Grafana's global styles (body background, fonts) and the stage's own box, which the tests find by kind.
  const backdrop = (kind: string, style: ReactModule.CSSProperties, child: ReactModule.ReactNode) =>
    h(
      react.Fragment,
      null,
      h(ui.GlobalStyles),
      h('div', { 'data-screenshot': kind, style: { boxSizing: 'border-box', ...style } }, child)
    );

  let stage: ReactModule.ComponentType<GrafanaData.PanelProps>;
  if (spec.kind === 'config-page') {
    const app = (await system.import(spec.appModule))['plugin'] as GrafanaData.AppPlugin;
    const page = app.configPages?.find((p) => p.id === spec.pageId);
    if (!page) {
      throw new Error(`the app has no config page ${spec.pageId}`);
    }
    const Body = page.body;
    stage = () => {
      const theme = ui.useTheme2();
      return backdrop(
        'config-page',
        { minHeight: '100vh', padding: theme.spacing(3), background: theme.colors.background.primary },
        h(Body, { plugin: app, query: { page: page.id } })
      );
    };
  } else {
    const plugin = (await system.import(spec.panelModule))['plugin'] as GrafanaData.PanelPlugin;
    const Panel = plugin.panel;
    if (!Panel) {
      throw new Error(`${spec.panelModule} exports no panel`);
    }
    stage = (props) => {
      const theme = ui.useTheme2();
      return backdrop(
        'panel',
        { height: '100vh', overflow: 'hidden', padding: theme.spacing(1), background: theme.colors.background.canvas },
        h(ui.PanelChrome, {
          title: spec.title,
          width: spec.width,
          height: spec.height,
          children: (width: number, height: number) => h(Panel, { ...props, width, height }),
        })
      );
    };
  }
  system.set(moduleId, { plugin: new data.PanelPlugin(stage) });
}

/** Loads a stage for `spec` into the harness page and mounts it as the dashboard's panel. */
async function mountStage(
  page: Page,
  harness: RemoteHarness,
  spec: StageSpec,
  mount: Parameters<RemoteHarness['mount']>[0]
): Promise<void> {
  await page.evaluate(defineStage, [STAGE_MODULE, spec] as const);
  await harness.load(STAGE_MODULE);
  await harness.mount(mount);
  const errors = await harness.errors();
  if (errors.length > 0) {
    throw new Error(`the page failed:\n${errors.join('\n')}`);
  }
}

/** Waits for what the page still loads after rendering: web fonts, and icons (an empty `<svg>` until then). */
async function settle(page: Page): Promise<void> {
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  await page.waitForFunction(() => document.querySelectorAll('[data-screenshot] svg:empty').length === 0, undefined, {
    polling: 100,
    timeout: 10_000,
  });
}

/** The app's settings page: a fresh install (no jsonData), enabled in the org, preloaded at boot. */
export const CONFIG_PAGE: Screenshot = {
  name: 'Settings',
  file: 'packages/app/src/img/screenshot-config.png',
  viewport: { width: 1280, height: 720 },
  deviceScaleFactor: 1,
  async open(stage) {
    const server = await stage.serve({ apps: [{ dir: APP_DIST, jsonData: null, enabled: true }] });
    const context = await stage.newContext(this);
    const { page, harness } = await openAppPage(context, server, '/plugins/footfall-app?page=settings');
    const preloads = await harness.appPreloads();
    if (preloads.some((result) => result.outcome !== 'loaded')) {
      throw new Error(`the app did not preload: ${JSON.stringify(preloads)}`);
    }
    await mountStage(
      page,
      harness,
      { kind: 'config-page', appModule: `${pluginPath('footfall-app')}/module.js`, pageId: 'settings' },
      // The harness mounts panels on a dashboard; this one is only the stage's host.
      { dashboard: { uid: 'footfall-settings', title: 'footfall settings' } }
    );
    await page.getByRole('button', { name: 'Save settings' }).waitFor();
    await settle(page);
    return page;
  },
};

/** The panel with its debug option on, after its first export reached the collector through the proxy. */
export const DEBUG_VIEW: Screenshot = {
  name: 'Debug view',
  file: 'packages/panel/src/img/screenshot-debug.png',
  viewport: { width: 640, height: 360 },
  deviceScaleFactor: 2,
  async open(stage) {
    const server = await stage.serve({ pluginDir: PANEL_DIST, upstream: stage.collector.url });
    const context = await stage.newContext(this);
    const { uid, title } = DEBUG_DASHBOARD;
    const slug = title.toLowerCase().replace(/ +/g, '-');
    const { page, harness } = await openAppPage(context, server, `/d/${uid}/${slug}`);
    await mountStage(
      page,
      harness,
      { kind: 'panel', panelModule: `${PLUGIN_PATH}/module.js`, title: 'footfall', width: 624, height: 344 },
      { dashboard: DEBUG_DASHBOARD, options: { debug: true } }
    );
    const view = page.getByTestId('footfall-debug');
    await view.getByText(/^session: [0-9a-f]+$/m).waitFor();
    // From here on the page's time moves only when told, so the view shows the same times on every
    // run, give or take the seconds the page took to load: a minute after the start, then a second at a time (the heartbeats firing in order) until the
    // export at the default 300 s interval goes out. The clock stays there while the request is in
    // flight: a jump past it would fire the request's own timeout (AbortSignal.timeout runs on the
    // page's clock) before the collector could answer. Then, once the answer is in, the view's next
    // refresh.
    const exports: Request[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname.endsWith('/footfall/v1/metrics')) {
        exports.push(request);
      }
    });
    await context.clock.pauseAt(CLOCK_START + 60_000);
    for (let second = 0; exports.length === 0; second++) {
      if (second > 600) {
        throw new Error('the panel sent no export in ten minutes of page time');
      }
      await context.clock.runFor(1_000);
    }
    const response = await exports[0]!.response();
    if (response?.status() !== 200) {
      throw new Error(`the collector answered the export with ${response?.status() ?? 'nothing'}`);
    }
    await page.waitForFunction(
      () => {
        const hub = (globalThis as unknown as Record<symbol, PageHub | undefined>)[Symbol.for('footfall.page-hub')];
        return hub?.debugInfo()?.delivery?.lastSuccessAt !== undefined;
      },
      undefined,
      { polling: 50, timeout: 10_000 }
    );
    await context.clock.runFor(1_000);
    await view.getByText(/^last export: \d{4}-/m).waitFor();
    await settle(page);
    return page;
  },
};

export const SCREENSHOTS: readonly Screenshot[] = [CONFIG_PAGE, DEBUG_VIEW];

/** The whole page, PNG: the viewport, or taller where the page is. */
export function capture(page: Page): Promise<Buffer> {
  return page.screenshot({ type: 'png', fullPage: true, animations: 'disabled', caret: 'hide' });
}

async function main(): Promise<void> {
  if (systemInterFonts().size === 0) {
    console.warn(
      'Inter is not installed (Debian: apt-get install fonts-inter): the pages fall back to Helvetica, Arial, sans-serif'
    );
  }
  const stage = await startScreenshotStage();
  try {
    for (const shot of SCREENSHOTS) {
      const page = await shot.open(stage);
      const png = await capture(page);
      writeFileSync(join(REPO_ROOT, shot.file), png);
      console.log(`${shot.file}: ${png.length} bytes`);
      await page.context().close();
    }
  } finally {
    await stage.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
