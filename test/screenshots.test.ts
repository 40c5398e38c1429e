/**
 * The plugins' catalog screenshots (scripts/screenshots.ts, `npm run screenshots`), without comparing
 * pixels: every screenshot a built plugin.json lists is in its dist, a real PNG of a useful size, the
 * same bytes as the committed one in src, and one the script takes; and the pages the script
 * photographs really show the components: the app's settings page, and the panel's debug view with a
 * live session whose export reached the collector through the harness's proxy.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  APP_DIST,
  capture,
  CLOCK_START,
  CONFIG_PAGE,
  DEBUG_DASHBOARD,
  DEBUG_VIEW,
  PANEL_DIST,
  startScreenshotStage,
  type Screenshot,
  type ScreenshotStage,
} from '../scripts/screenshots.ts';
import { scrape, sumOf } from './support/exposition.ts';
import { REPO_ROOT } from './support/shared-module-sets.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** What the catalog shows well; and what keeps the plugin archives small. */
const MIN_SIZE = { width: 640, height: 360 };
const MAX_BYTES = 300 * 1024;

/** Width and height from the IHDR chunk, which a PNG must start with right after its signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE), 'PNG signature').toBe(true);
  expect(png.readUInt32BE(8), 'IHDR length').toBe(13);
  expect(png.toString('latin1', 12, 16)).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const PLUGINS: ReadonlyArray<{ name: string; dist: string; src: string; shots: readonly Screenshot[] }> = [
  { name: 'app', dist: APP_DIST, src: join(REPO_ROOT, 'packages/app/src'), shots: [CONFIG_PAGE] },
  { name: 'panel', dist: PANEL_DIST, src: join(REPO_ROOT, 'packages/panel/src'), shots: [DEBUG_VIEW] },
];

describe.each(PLUGINS)('the built $name plugin', ({ dist, src, shots }) => {
  test('ships every screenshot its plugin.json lists: a PNG of at least 640×360, as committed in src', () => {
    const listed = (
      JSON.parse(readFileSync(join(dist, 'plugin.json'), 'utf8')) as {
        info: { screenshots?: Array<{ name: string; path: string }> };
      }
    ).info.screenshots;
    // Each is one the script takes, under the name it is listed with.
    expect(listed?.map(({ name, path }) => ({ name, file: join(src, path) }))).toEqual(
      shots.map((shot) => ({ name: shot.name, file: join(REPO_ROOT, shot.file) }))
    );
    for (const { path } of listed!) {
      expect(path).toMatch(/^img\/[\w-]+\.png$/);
      const file = join(dist, path);
      expect(existsSync(file), `${path} in dist`).toBe(true);
      const png = readFileSync(file);
      const { width, height } = pngSize(png);
      expect(width).toBeGreaterThanOrEqual(MIN_SIZE.width);
      expect(height).toBeGreaterThanOrEqual(MIN_SIZE.height);
      expect(png.length).toBeLessThan(MAX_BYTES);
      expect(png.equals(readFileSync(join(src, path))), `${path} in dist is the one in src`).toBe(true);
    }
  });
});

describe('the pages scripts/screenshots.ts photographs', () => {
  let stage: ScreenshotStage;
  const pages: Page[] = [];

  beforeAll(async () => {
    stage = await startScreenshotStage();
  });

  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.context().close()));
  });

  afterAll(async () => {
    await stage?.close();
  });

  async function open(shot: Screenshot): Promise<Page> {
    const page = await shot.open(stage);
    pages.push(page);
    return page;
  }

  async function expectScreenshotSize(page: Page, shot: Screenshot): Promise<void> {
    const { width, height } = pngSize(await capture(page));
    expect(width).toBe(shot.viewport.width * shot.deviceScaleFactor);
    expect(height).toBeGreaterThanOrEqual(shot.viewport.height * shot.deviceScaleFactor);
  }

  test("the app's settings page, for a fresh install that is enabled", async () => {
    const page = await open(CONFIG_PAGE);
    const form = page.locator('[data-screenshot="config-page"]');
    await expect.poll(() => form.getByText('Recording').isVisible()).toBe(true);
    for (const label of ['Endpoint', 'Variables to record', 'Export interval (s)', 'Send login and name']) {
      expect(await form.getByText(label, { exact: true }).isVisible(), label).toBe(true);
    }
    // No jsonData: the defaults.
    expect(await form.locator('#exportIntervalSeconds').inputValue()).toBe('300');
    expect(await form.locator('#endpoint').inputValue()).toBe('');
    // Enabled: save and disable, not enable.
    expect(await form.getByRole('button', { name: 'Save settings' }).isVisible()).toBe(true);
    expect(await form.getByRole('button', { name: 'Disable' }).isVisible()).toBe(true);
    await expectScreenshotSize(page, CONFIG_PAGE);
  });

  test("the panel's debug view: a live session on the dashboard, its export delivered to the collector", async () => {
    const page = await open(DEBUG_VIEW);
    const view = page.getByTestId('footfall-debug');
    expect(await view.isVisible()).toBe(true);
    const lines = (await view.innerText()).split('\n');
    expect(lines).toEqual([
      'tracked by: panel',
      expect.stringMatching(/^session: [0-9a-f]{16}$/),
      `dashboard: ${DEBUG_DASHBOARD.uid}`,
      expect.stringMatching(/^engagement: /),
      expect.stringMatching(/^last export: \d{4}-\d\d-\d\dT/),
      'last error: none',
      'pending series: 0, dropped: 0',
    ]);
    // Five minutes after the fixed start: the default export interval.
    const exported = Date.parse(lines[4]!.slice('last export: '.length));
    expect(exported - CLOCK_START).toBeGreaterThanOrEqual(300_000);
    const { samples } = await scrape(stage.collector.url);
    expect(sumOf(samples, 'grafana_analytics_sessions_total', { dashboard_uid: DEBUG_DASHBOARD.uid })).toBe(1);
    await expectScreenshotSize(page, DEBUG_VIEW);
  });
});
