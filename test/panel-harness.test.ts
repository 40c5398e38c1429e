/**
 * The browser harness itself: a panel module loads through SystemJS's AMD extra on Grafana 13.2
 * (React 19) and Grafana 12.4 (React 18) shared modules, at a Grafana dashboard URL under the
 * `/grafana` sub-path; and the browser behaves as the panel's tests need it to (real tab
 * visibility, `pagehide` with a keepalive request delivered through the proxy, with the cookie).
 */
// page.evaluate callbacks run in the page, with its DOM:
/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hidePage, launchChromium, showPage, type RunningChromium } from './support/chromium.ts';
import { startHarnessServer, type HarnessServer } from './support/harness-server.ts';
import { openHarnessPage } from './support/harness-page.ts';
import { installedVersion, REPO_ROOT, SHARED_MODULE_SETS, sharedModuleSet } from './support/shared-module-sets.ts';

const PROBE = join(REPO_ROOT, 'test/browser/fixtures/probe-panel');
const PANEL_DIST = join(REPO_ROOT, 'packages/panel/dist');

/** The plugin folders to load: the hand-written probe always, the built panel once it exists. */
const MODULES = [
  { name: 'probe fixture', dir: PROBE, probe: true },
  ...(existsSync(join(PANEL_DIST, 'module.js')) ? [{ name: 'panel dist', dir: PANEL_DIST, probe: false }] : []),
];

const DASHBOARD = { uid: 'smoke-uid', title: 'Smoke dashboard' };

let chrome: RunningChromium;
const servers: HarnessServer[] = [];

beforeAll(async () => {
  chrome = await launchChromium();
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await chrome?.close();
});

async function serve(...args: Parameters<typeof startHarnessServer>): Promise<HarnessServer> {
  const server = await startHarnessServer(...args);
  servers.push(server);
  return server;
}

describe.each(SHARED_MODULE_SETS)('$name shared modules', (set) => {
  test.each(MODULES)('the $name mounts at /grafana/d/<uid>/<slug> with the set’s React', async ({ dir, probe }) => {
    const server = await serve({ set, pluginDir: dir });
    const { page, harness } = await openHarnessPage(chrome.context, server, `/d/${DASHBOARD.uid}/smoke-dashboard`);

    await harness.mount({ dashboard: DASHBOARD, variables: [{ name: 'env', values: ['prod'] }] });

    const react = installedVersion(set, 'react');
    expect(Number(react.split('.')[0])).toBe(set.reactMajor);
    expect(await harness.versions()).toMatchObject({ react, grafana: installedVersion(set, '@grafana/data') });
    expect(await harness.location()).toEqual({
      pathname: `/d/${DASHBOARD.uid}/smoke-dashboard`,
      // Grafana writes the dashboard's state into the URL on load.
      search: '?orgId=1&from=now-6h&to=now&timezone=browser&var-env=prod',
      browserPathname: `/grafana/d/${DASHBOARD.uid}/smoke-dashboard`,
    });
    expect(await page.locator('.panel-container[data-panel-id="1"]').count()).toBe(1);
    if (probe) {
      const rendered = page.locator('.footfall-probe');
      expect(await rendered.getAttribute('data-react-version')).toBe(react);
      expect(await rendered.getAttribute('data-pathname')).toBe(`/d/${DASHBOARD.uid}/smoke-dashboard`);
      expect(await rendered.getAttribute('data-dashboard-uid')).toBe(DASHBOARD.uid);
      expect(await rendered.getAttribute('data-org-role')).toBe('Editor');
    }
    expect(await harness.errors()).toEqual([]);
    await page.close();
  });
});

describe('the harness page', () => {
  let collector: Server;
  const received: Array<{ path: string; body: string }> = [];

  beforeAll(async () => {
    collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    collector.listen(0, '127.0.0.1');
    await once(collector, 'listening');
  });

  afterAll(() => {
    collector?.close();
  });

  test('navigates in-app, takes boot data per page, hides and shows for real, and delivers on close', async () => {
    const server = await serve({
      set: sharedModuleSet('grafana-13'),
      pluginDir: PROBE,
      upstream: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
    });
    const { page, harness } = await openHarnessPage(chrome.context, server, '/d/first/first', {
      bootData: { user: { orgRole: 'Viewer' } },
    });
    await harness.mount({ dashboard: { uid: 'first', title: 'First' } });
    await harness.openDashboard({ dashboard: { uid: 'second', title: 'Second dashboard' } });
    const rendered = page.locator('.footfall-probe');
    expect(await rendered.getAttribute('data-pathname')).toBe('/d/second/second-dashboard');
    expect(await rendered.getAttribute('data-org-role')).toBe('Viewer');
    // A new mount, not a re-render: the old dashboard's panel went away.
    expect(await rendered.getAttribute('data-mount')).toBe('2');

    await page.evaluate(() => {
      const seen: string[] = [];
      (globalThis as unknown as { seen: string[] }).seen = seen;
      document.addEventListener('visibilitychange', (e) => seen.push(`${document.visibilityState}:${e.isTrusted}`));
      addEventListener(
        'pagehide',
        () => void fetch('/grafana/footfall/v1/metrics', { method: 'POST', keepalive: true, body: 'closing' })
      );
    });
    await hidePage(page);
    await showPage(page);
    expect(await page.evaluate(() => (globalThis as unknown as { seen: string[] }).seen)).toEqual([
      'hidden:true',
      'visible:true',
    ]);

    await page.close({ runBeforeUnload: true });
    const [sent] = await server.waitForRequests(1);
    expect(sent).toMatchObject({ method: 'POST', path: '/grafana/footfall/v1/metrics', status: 200 });
    expect(sent!.body.toString()).toBe('closing');
    expect(sent!.headers.cookie).toContain(`grafana_session=${server.sessionToken}`);
    expect(received).toEqual([{ path: '/v1/metrics', body: 'closing' }]);
  });
});
