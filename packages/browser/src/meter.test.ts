import { afterEach, describe, expect, test, vi } from 'vitest';
import { ATTR, METRIC } from './names.ts';
import type { PanelMeter } from './meter.ts';
import { MemoryStorage } from './testing/memory-storage.ts';
import { answering, createRecordingFetch, type RecordingFetch } from './testing/recording-fetch.ts';

const opened: PanelMeter[] = [];

/**
 * The meter of a new page load in a tab with `storage`: the module graph is loaded afresh, as a
 * browser does for every page, so nothing of an earlier page's module state carries over.
 */
async function openPage(storage: Storage, net: RecordingFetch): Promise<PanelMeter> {
  vi.resetModules();
  const { createPanelMeter } = await import('./meter.ts');
  const meter = createPanelMeter({
    endpoint: '/footfall/v1/metrics',
    exportIntervalMs: 3_600_000,
    resource: { 'service.name': 'footfall-panel' },
    version: '1.2.3',
    storage,
    fetch: net.fetch,
    now: () => Date.now(),
  });
  opened.push(meter);
  return meter;
}

const sessionsOf = (net: RecordingFetch, uid: string): number =>
  net
    .delivered()
    .filter((p) => p.metric === METRIC.SESSIONS && p.attributes[ATTR.DASHBOARD_UID] === uid)
    .reduce((t, p) => t + p.value, 0);

/** A page whose collector is down: its sessions stay pending in the tab's storage. */
async function pageWithPendingSession(tab: Storage): Promise<PanelMeter> {
  const down = createRecordingFetch(answering(503));
  const meter = await openPage(tab, down);
  meter.recorder.record(METRIC.SESSIONS, 1, { [ATTR.DASHBOARD_UID]: 'sales' });
  meter.flush(false);
  await down.idle();
  expect(meter.status().pending).toBe(1);
  return meter;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((m) => m.shutdown()));
});

describe('pending points and the pages of a tab', () => {
  test('a reload sends what the page left at pagehide', async () => {
    const tab = new MemoryStorage();
    const first = await pageWithPendingSession(tab);
    first.flush(true);

    const net = createRecordingFetch();
    await openPage(tab, net);
    await net.idle();
    expect(sessionsOf(net, 'sales')).toBe(1);
  });

  test('a duplicated tab does not send the pending points of the tab it copied, which is still open', async () => {
    const tab = new MemoryStorage();
    await pageWithPendingSession(tab);

    const net = createRecordingFetch();
    await openPage(tab.duplicate(), net);
    await net.idle();
    expect(sessionsOf(net, 'sales')).toBe(0);
  });

  test('back from the back/forward cache the page keeps its points: a duplicate made then does not send them', async () => {
    const tab = new MemoryStorage();
    const page = await pageWithPendingSession(tab);
    page.flush(true);
    page.resumed();

    const net = createRecordingFetch();
    await openPage(tab.duplicate(), net);
    await net.idle();
    expect(sessionsOf(net, 'sales')).toBe(0);
    expect(page.status().pending).toBe(1);
  });
});
