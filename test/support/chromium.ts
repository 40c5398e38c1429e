/**
 * Debian's Chromium (package `chromium`, installed by scripts/install-test-tools.sh), headless, driven
 * by playwright-core; the tests never download a browser build of their own.
 *
 * Chromium is started here and Playwright attaches over CDP with `noDefaults`, instead of
 * `chromium.launch()`: Playwright's own pages run with focus emulation, which keeps every page
 * visible and focused, so a page never sees a real `visibilitychange`. Attached this way, the
 * browser's default context behaves like a user's browser: switching tabs or minimising the window
 * hides a page and fires trusted `visibilitychange`, `blur` and `focus` events. For the same reason
 * Playwright's throttling switches are not passed: hidden pages get Chromium's real timer throttling.
 */
// page.evaluate callbacks run in the page, with its DOM:
/// <reference lib="dom" />
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const BINARY_NAMES = ['chromium', 'chromium-browser'];

/** Keep a test browser quiet and off the network: no first-run UI, updates, sync or field trials. */
const SWITCHES = [
  '--headless',
  // The test machines run as root, where Chromium's sandbox cannot start (Playwright passes it too).
  '--no-sandbox',
  '--remote-debugging-address=127.0.0.1',
  '--remote-debugging-port=0',
  '--window-size=1280,720',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-component-update',
  '--disable-background-networking',
  '--disable-sync',
  '--disable-breakpad',
  '--disable-field-trial-config',
  '--disable-search-engine-choice-screen',
  '--disable-dev-shm-usage',
  '--metrics-recording-only',
  '--password-store=basic',
  '--use-mock-keychain',
  '--disable-features=OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch,Translate,MediaRouter',
];

/** The Chromium executable on PATH, or undefined when none is installed. */
export function findChromium(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    for (const name of BINARY_NAMES) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not in this folder
      }
    }
  }
  return undefined;
}

export interface RunningChromium {
  readonly browser: Browser;
  /**
   * The browser's own context, where pages are tabs of one window and visibility is real. Contexts
   * from `browser.newContext()` get Playwright's focus emulation again: their pages stay visible.
   */
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<RunningChromium> {
  const executable = findChromium();
  if (!executable) {
    throw new Error('chromium is not installed: run scripts/install-test-tools.sh (Debian package chromium)');
  }
  const profile = mkdtempSync(join(tmpdir(), 'footfall-chromium-'));
  const child = spawn(executable, [...SWITCHES, `--user-data-dir=${profile}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = new Promise<string>((resolve, reject) => {
    const stderr: string[] = [];
    let listening = false;
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`chromium did not start:\n${stderr.join('\n')}`)), 15_000);
    child.once('error', fail);
    void exited.then(() => fail(new Error(`chromium exited:\n${stderr.join('\n')}`)));
    // Read stderr to the end even after start: a full pipe would stall the browser.
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (listening) {
        return;
      }
      stderr.push(line);
      const match = /^DevTools listening on (ws:\/\/\S+)/.exec(line);
      if (match) {
        listening = true;
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  let browser: Browser;
  try {
    browser = await chromium.connectOverCDP(await started, { noDefaults: true, isLocal: true });
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }

  return {
    browser,
    context: browser.contexts()[0]!,
    async close() {
      // Disconnecting leaves an attached browser running: ask it to quit, and make sure it did.
      const session = await browser.newBrowserCDPSession().catch(() => undefined);
      await session?.send('Browser.close').catch(() => undefined);
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      if (child.exitCode === null && child.signalCode === null) {
        await exited;
      }
      clearTimeout(killer);
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Other tabs opened by `hidePage`, closed again by `showPage`. */
const coveringTabs = new WeakMap<Page, Page>();

const visibility = (page: Page, state: 'hidden' | 'visible') =>
  // Polled by time: a hidden page runs no animation frames, Playwright's default polling.
  page.waitForFunction((expected) => document.visibilityState === expected, state, { polling: 50, timeout: 5_000 });

/**
 * The user switches to another tab: a new tab comes to the front of the page's window, and the
 * page gets a real `visibilitychange` to hidden (and `blur` if it had focus). The page must be in
 * `RunningChromium.context`.
 */
export async function hidePage(page: Page): Promise<void> {
  const other = await page.context().newPage();
  await other.bringToFront();
  coveringTabs.set(page, other);
  await visibility(page, 'hidden');
}

/** The user switches back: the page comes to the front, visible and focused. */
export async function showPage(page: Page): Promise<void> {
  await page.bringToFront();
  await visibility(page, 'visible');
  await coveringTabs.get(page)?.close();
  coveringTabs.delete(page);
}
