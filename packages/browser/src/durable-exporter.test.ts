/**
 * Delivery as wired in meter.ts (SDK reader → durable exporter → outbox → OTLP/JSON → fetch transport)
 * against a real node:http server on loopback, with fake time for the retry schedule.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { startScriptedServer, type ScriptedServer } from './testing/http-server.ts';
import { decodeOtlpJson, totalOf } from './testing/otlp.ts';
import { useFakeClock } from './testing/page.ts';
import { answering, createRecordingFetch, type RecordingFetch } from './testing/recording-fetch.ts';
import { createPanelMeter, OUTBOX_STORAGE_KEY, type PanelMeter } from './meter.ts';
import { ATTR, METRIC } from './names.ts';
import { KEEPALIVE_MAX_BYTES } from './transport.ts';

const SECOND = 1000;

let server: ScriptedServer;
const meters: PanelMeter[] = [];

function openMeter(net: RecordingFetch, url = `${server.url}/v1/metrics`): PanelMeter {
  const meter = createPanelMeter({
    endpoint: url,
    exportIntervalMs: 60 * SECOND,
    resource: { 'service.name': 'grafana-footfall-panel' },
    version: '1.2.3',
    storage: window.sessionStorage,
    fetch: net.fetch,
    now: () => Date.now(),
  });
  meters.push(meter);
  return meter;
}

const sessions = (meter: PanelMeter, n: number, uid = 'abc') =>
  meter.recorder.record(METRIC.SESSIONS, n, { [ATTR.DASHBOARD_UID]: uid });

/** Sessions the server answered 2xx for. */
function acceptedSessions(): number {
  return totalOf(
    server.received.filter((r) => r.status !== undefined && r.status < 300).flatMap((r) => decodeOtlpJson(r.body)),
    METRIC.SESSIONS
  );
}

async function flush(meter: PanelMeter, net: RecordingFetch, unloading = false): Promise<void> {
  meter.flush(unloading);
  await net.idle();
}

beforeEach(async () => {
  useFakeClock();
  window.sessionStorage.clear();
  server = await startScriptedServer();
});

afterEach(async () => {
  for (const m of meters.splice(0)) {
    await m.shutdown();
  }
  vi.useRealTimers();
  await server.close();
});

describe('delivery to a real HTTP server', () => {
  test('200: delivered as OTLP/JSON, same-origin credentials, status updated', async () => {
    const net = createRecordingFetch(globalThis.fetch);
    const meter = openMeter(net);
    sessions(meter, 3);
    await flush(meter, net);
    expect(server.received).toHaveLength(1);
    expect(server.received[0]!.path).toBe('/v1/metrics');
    expect(server.received[0]!.contentType).toBe('application/json');
    expect(net.exchanges[0]!.credentials).toBe('same-origin');
    expect(acceptedSessions()).toBe(3);
    expect(meter.status()).toMatchObject({
      delivered: 1,
      pending: 0,
      dropped: 0,
      lastError: undefined,
      lastSuccessAt: Date.now(),
    });
  });

  test('503 with Retry-After: 5 holds everything back for 5 s, then sends it all at once', async () => {
    const net = createRecordingFetch(globalThis.fetch);
    const meter = openMeter(net);
    server.script.push({ status: 503, headers: { 'Retry-After': '5' } });
    sessions(meter, 3);
    await flush(meter, net);
    expect(server.received.map((r) => r.status)).toEqual([503]);
    expect(meter.status().lastError).toContain('503');

    await vi.advanceTimersByTimeAsync(1 * SECOND);
    sessions(meter, 2);
    await flush(meter, net); // collected and kept, not sent
    await vi.advanceTimersByTimeAsync(3.9 * SECOND);
    await net.idle();
    expect(server.received).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(0.1 * SECOND);
    await net.idle();
    expect(server.received.map((r) => r.status)).toEqual([503, 200]);
    expect(net.exchanges[1]!.sentAt - net.exchanges[0]!.sentAt).toBe(5 * SECOND);
    expect(totalOf(decodeOtlpJson(server.received[1]!.body), METRIC.SESSIONS)).toBe(5);
    expect(acceptedSessions()).toBe(5);
    expect(meter.status()).toMatchObject({ pending: 0, dropped: 0, lastError: undefined });
  });

  test('502: kept and merged into the next export', async () => {
    const net = createRecordingFetch(globalThis.fetch);
    const meter = openMeter(net);
    server.script.push({ status: 502 });
    sessions(meter, 2);
    await flush(meter, net);
    expect(meter.status()).toMatchObject({ pending: 1, lastError: expect.stringContaining('502') });
    sessions(meter, 3);
    await flush(meter, net); // the next export: the kept point and the new one go as one
    expect(server.received.map((r) => r.status)).toEqual([502, 200]);
    expect(totalOf(decodeOtlpJson(server.received[1]!.body), METRIC.SESSIONS)).toBe(5);
    expect(decodeOtlpJson(server.received[1]!.body).filter((p) => p.metric === METRIC.SESSIONS)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2 * 60 * SECOND); // the back-off retry and later cycles add nothing
    await net.idle();
    expect(acceptedSessions()).toBe(5);
  });

  test('connection refused: kept, and delivered once the collector listens again', async () => {
    const port = server.port;
    await server.close();
    const net = createRecordingFetch(globalThis.fetch);
    const meter = openMeter(net, `http://127.0.0.1:${port}/v1/metrics`);
    sessions(meter, 2);
    await flush(meter, net);
    // A refused connection looks like the browser refusing keepalive (a TypeError): tried once without.
    expect(net.exchanges.map((e) => [e.keepalive, e.status])).toEqual([
      [true, 0],
      [false, 0],
    ]);
    expect(meter.status()).toMatchObject({ pending: 1, delivered: 0 });
    expect(meter.status().lastError).toMatch(/no answer/);

    server = await startScriptedServer({ port });
    sessions(meter, 4);
    await flush(meter, net);
    await vi.advanceTimersByTimeAsync(60 * SECOND);
    await net.idle();
    expect(acceptedSessions()).toBe(6);
    expect(meter.status()).toMatchObject({ pending: 0, lastError: undefined });
  });

  test('400: dropped and counted, never sent again', async () => {
    const net = createRecordingFetch(globalThis.fetch);
    const meter = openMeter(net);
    server.script.push({ status: 400 });
    for (const uid of ['a', 'b', 'c', 'd']) {
      sessions(meter, 1, uid);
    }
    await flush(meter, net);
    expect(meter.status()).toMatchObject({ dropped: 4, pending: 0, lastError: expect.stringContaining('400') });

    await vi.advanceTimersByTimeAsync(5 * 60 * SECOND); // retries would have happened by now
    await net.idle();
    expect(server.received).toHaveLength(1);

    sessions(meter, 1, 'e');
    await flush(meter, net);
    expect(server.received.map((r) => r.status)).toEqual([400, 200]);
    expect(totalOf(decodeOtlpJson(server.received[1]!.body), METRIC.SESSIONS)).toBe(1);
    expect(meter.status()).toMatchObject({ dropped: 4, lastError: undefined });
  });

  test('unloading while the collector fails: nothing sent, kept in storage, delivered by the next page', async () => {
    const net = createRecordingFetch(globalThis.fetch);
    const meter = openMeter(net);
    server.script.push({ status: 502 });
    sessions(meter, 3);
    await flush(meter, net);
    sessions(meter, 2);
    await flush(meter, net, true); // pagehide
    expect(server.received).toHaveLength(1);
    expect(window.sessionStorage.getItem(OUTBOX_STORAGE_KEY)).not.toBeNull();

    // The reload: a new page, the same tab storage.
    const nextNet = createRecordingFetch(globalThis.fetch);
    openMeter(nextNet);
    await nextNet.idle();
    expect(server.received.map((r) => r.status)).toEqual([502, 200]);
    expect(acceptedSessions()).toBe(5);
    expect(window.sessionStorage.getItem(OUTBOX_STORAGE_KEY)).toBeNull();
  });

  test('bodies stay under the keepalive budget and go with keepalive as the page unloads', async () => {
    const net = createRecordingFetch(globalThis.fetch);
    const meter = openMeter(net);
    // A busy dashboard: 100 series with long names and values, as the catalog allows.
    for (let i = 0; i < 100; i++) {
      meter.recorder.record(METRIC.VARIABLE_SELECTIONS, 1, {
        [ATTR.DASHBOARD_UID]: `uid-${'x'.repeat(30)}`,
        [ATTR.DASHBOARD_NAME]: `A dashboard with a rather long title ${'y'.repeat(60)}`,
        [ATTR.VARIABLE_NAME]: `variable_${i % 25}`,
        [ATTR.VARIABLE_VALUE]: `value-${i}-${'z'.repeat(60)}`,
      });
    }
    await flush(meter, net, true);
    expect(net.exchanges.length).toBeGreaterThan(1);
    for (const e of net.exchanges) {
      expect(e.bytes).toBeLessThanOrEqual(KEEPALIVE_MAX_BYTES);
      expect(e.keepalive).toBe(true);
    }
    // The browser's budget is for all keepalive bodies in flight together.
    expect(net.exchanges.reduce((t, e) => t + e.bytes, 0)).toBeLessThanOrEqual(KEEPALIVE_MAX_BYTES);
    expect(totalOf(net.delivered(), METRIC.VARIABLE_SELECTIONS)).toBe(100);
  });

  // send() ignores the keepalive budget while unloading: with more pending than fits (~4 bodies of
  // 40 points), the transport sends the rest without keepalive, which the browser cancels as the page
  // goes, and take() has already removed those points from sessionStorage: lost, not kept for a reload.
  test('as the page unloads, what does not fit the keepalive budget stays in storage for the next page', async () => {
    const net = createRecordingFetch(globalThis.fetch);
    const meter = openMeter(net);
    const series = 300; // 25 variables with 10 values each and a few more: one busy dashboard's first minute
    for (let i = 0; i < series; i++) {
      meter.recorder.record(METRIC.VARIABLE_SELECTIONS, 1, {
        [ATTR.DASHBOARD_UID]: 'abc',
        [ATTR.DASHBOARD_NAME]: 'Sales overview',
        [ATTR.VARIABLE_NAME]: `v${i % 25}`,
        [ATTR.VARIABLE_VALUE]: `value-${i}`,
      });
    }
    await flush(meter, net, true);
    const withKeepalive = net.exchanges.filter((e) => e.keepalive === true);
    const sentWithKeepalive = totalOf(
      withKeepalive.flatMap((e) => e.points),
      METRIC.VARIABLE_SELECTIONS
    );
    const stored = createRecordingFetch(globalThis.fetch);
    const nextPage = openMeter(stored); // a reload sends what the storage kept
    await stored.idle();
    expect(nextPage.status().pending).toBe(0);
    const kept = totalOf(stored.delivered(), METRIC.VARIABLE_SELECTIONS);
    expect(sentWithKeepalive + kept).toBe(series);
    expect(net.exchanges.filter((e) => e.keepalive !== true)).toEqual([]);
  });

  // isPendingPoint accepts a stored entry whose value lacks its fields (an older panel's format, or
  // anything else under the key); toResourceMetrics then throws on every send, the exporter counts it
  // as a retryable failure and restores it, so the body it is in (and with fewer than 40 series, every
  // body) never goes out again in this tab.
  test('a stored point of another shape does not block the delivery of the others', async () => {
    const failing = createRecordingFetch(answering(502));
    const first = openMeter(failing);
    sessions(first, 2);
    await flush(first, failing, true);
    const stored = JSON.parse(window.sessionStorage.getItem(OUTBOX_STORAGE_KEY)!) as { points: unknown[] };
    stored.points.push({
      key: 'from-an-older-panel',
      descriptor: { name: METRIC.SESSION_DURATION },
      start: 0,
      end: 0,
      attributes: {},
      value: { type: 'histogram', buckets: { counts: [1] } },
    });
    window.sessionStorage.setItem(OUTBOX_STORAGE_KEY, JSON.stringify(stored));

    const net = createRecordingFetch(globalThis.fetch);
    const meter = openMeter(net);
    sessions(meter, 1);
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(60 * SECOND);
      await net.idle();
    }
    expect(acceptedSessions()).toBe(3);
  });
});
