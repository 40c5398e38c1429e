import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startScriptedServer, type ScriptedServer } from './testing/http-server.ts';
import { answering, createRecordingFetch } from './testing/recording-fetch.ts';
import {
  createFetchTransport,
  DeliveryError,
  KEEPALIVE_MAX_BYTES,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
} from './transport.ts';

const NOW = Date.UTC(2026, 0, 5, 9, 0, 0);

describe('parseRetryAfter', () => {
  test.each([
    ['5', 5_000],
    ['0', 0],
    [' 120 ', 120_000],
  ])('delay-seconds %j → %i ms', (header, ms) => {
    expect(parseRetryAfter(header, NOW)).toBe(ms);
  });

  test('an HTTP date: the time until then, never negative', () => {
    expect(parseRetryAfter(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30_000);
    expect(parseRetryAfter('Mon, 05 Jan 2026 09:02:00 GMT', NOW)).toBe(120_000);
    expect(parseRetryAfter(new Date(NOW - 60_000).toUTCString(), NOW)).toBe(0);
  });

  test.each([null, '', 'soon', '5s', '12 apples', '0x10', '1.5', '-5'])('junk %j → undefined', (header) => {
    expect(parseRetryAfter(header, NOW)).toBeUndefined();
  });

  test('a collector asking for days is held to an hour', () => {
    expect(parseRetryAfter('864000', NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter(new Date(NOW + 86_400_000).toUTCString(), NOW)).toBe(MAX_RETRY_AFTER_MS);
  });
});

describe('the fetch transport against a real HTTP server', () => {
  let server: ScriptedServer;
  beforeEach(async () => {
    server = await startScriptedServer();
  });
  afterEach(async () => {
    await server.close();
  });

  const body = new TextEncoder().encode('{"resourceMetrics":[]}');

  test('posts the body with keepalive and answers success on 2xx', async () => {
    const net = createRecordingFetch(globalThis.fetch);
    const transport = createFetchTransport({
      url: `${server.url}/v1/metrics`,
      headers: { 'Content-Type': 'application/json' },
      fetch: net.fetch,
      now: () => NOW,
      unloading: () => false,
    });
    const response = await transport.send(body, 5_000);
    expect(response.status).toBe('success');
    expect(server.received[0]!.body).toBe('{"resourceMetrics":[]}');
    expect(net.exchanges[0]!.keepalive).toBe(true);
  });

  test.each([
    [400, 'failure'],
    [413, 'failure'],
    [415, 'failure'],
    [422, 'failure'],
    [429, 'retryable'],
    [500, 'retryable'],
    [502, 'retryable'],
    [503, 'retryable'],
  ] as const)('HTTP %i is a %s', async (status, kind) => {
    server.script.push({ status, headers: status === 429 ? { 'Retry-After': '7' } : {} });
    const transport = createFetchTransport({
      url: `${server.url}/v1/metrics`,
      headers: {},
      fetch: globalThis.fetch,
      now: () => NOW,
      unloading: () => false,
    });
    const response = await transport.send(body, 5_000);
    expect(response.status).toBe(kind);
    const error = 'error' in response ? response.error : undefined;
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).status).toBe(status);
    if (status === 429) {
      expect((error as DeliveryError).retryAfterMs).toBe(7_000);
      expect(response).toMatchObject({ retryInMillis: 7_000 });
    }
  });

  test('no answer (connection refused) is retryable, status 0', async () => {
    const port = server.port;
    await server.close();
    const transport = createFetchTransport({
      url: `http://127.0.0.1:${port}/v1/metrics`,
      headers: {},
      fetch: globalThis.fetch,
      now: () => NOW,
      unloading: () => false,
    });
    const response = await transport.send(body, 5_000);
    expect(response.status).toBe('retryable');
    const error = 'error' in response ? response.error : undefined;
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).status).toBe(0);
    server = await startScriptedServer();
  });

  test('bodies in flight together share the keepalive budget; the budget frees up when they finish', async () => {
    const net = createRecordingFetch(globalThis.fetch);
    const transport = createFetchTransport({
      url: `${server.url}/v1/metrics`,
      headers: {},
      fetch: net.fetch,
      now: () => NOW,
      unloading: () => false,
    });
    const big = new Uint8Array(Math.floor(KEEPALIVE_MAX_BYTES / 2) - 10).fill(0x20);
    await Promise.all([transport.send(big, 5_000), transport.send(big, 5_000), transport.send(big, 5_000)]);
    expect(net.exchanges.map((e) => e.keepalive)).toEqual([true, true, false]);
    await transport.send(big, 5_000);
    expect(net.exchanges[3]!.keepalive).toBe(true);
  });
});

describe('keepalive across the page', () => {
  /** The key every copy of footfall on a page uses; written out here as the contract between bundles. */
  const BUDGET = Symbol.for('footfall.keepalive-budget');
  const pageBudget = () => (globalThis as Record<symbol, unknown>)[BUDGET];
  beforeEach(() => {
    delete (globalThis as Record<symbol, unknown>)[BUDGET];
  });

  /** Answers 200 to every request, but only once `open()` is called: requests stay in flight until then. */
  function gatedFetch(): { fetch: typeof fetch; open(): void } {
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    return { fetch: async () => gate.then(() => new Response('{}', { status: 200 })), open: () => open() };
  }

  const transportOn = (send: typeof fetch, unloading = false) =>
    createFetchTransport({ url: '/v1/metrics', headers: {}, fetch: send, now: () => NOW, unloading: () => unloading });
  const bytes = (n: number) => new Uint8Array(n).fill(0x20);

  test('two transports on one page (two bundles, or a rebuilt meter) draw on one budget, kept on the global object', async () => {
    const gate = gatedFetch();
    const net = createRecordingFetch(gate.fetch);
    const appPlugin = transportOn(net.fetch);
    const panel = transportOn(net.fetch);
    const first = appPlugin.send(bytes(35_000), 5_000);
    const second = panel.send(bytes(35_000), 5_000);
    expect(pageBudget()).toEqual({ bytes: 35_000, requests: 1 });
    gate.open();
    expect((await Promise.all([first, second])).map((r) => r.status)).toEqual(['success', 'success']);
    expect(net.exchanges.map((e) => e.keepalive)).toEqual([true, false]);
    expect(pageBudget()).toEqual({ bytes: 0, requests: 0 });
  });

  test("another copy of the code's requests in flight count against this one's", async () => {
    (globalThis as Record<symbol, unknown>)[BUDGET] = { bytes: 50_000, requests: 1 };
    const net = createRecordingFetch();
    expect((await transportOn(net.fetch).send(bytes(20_000), 5_000)).status).toBe('success');
    expect(net.exchanges.map((e) => e.keepalive)).toEqual([false]);
  });

  test('a body over the budget goes without keepalive; while the page unloads it is not sent and stays retryable', async () => {
    const net = createRecordingFetch();
    expect((await transportOn(net.fetch).send(bytes(KEEPALIVE_MAX_BYTES + 1), 5_000)).status).toBe('success');
    expect(net.exchanges.map((e) => e.keepalive)).toEqual([false]);
    expect((await transportOn(net.fetch, true).send(bytes(KEEPALIVE_MAX_BYTES + 1), 5_000)).status).toBe('retryable');
    expect(net.exchanges).toHaveLength(1);
  });

  /** A browser whose keepalive budget someone else (Grafana's own agents) has used up. */
  const refusingKeepalive = (how: 'throws' | 'rejects'): typeof fetch =>
    ((input: RequestInfo | URL, init?: RequestInit) => {
      if (!init?.keepalive) {
        return answering(200)(input, init);
      }
      const refusal = new TypeError('Failed to fetch');
      if (how === 'throws') {
        throw refusal;
      }
      return Promise.reject(refusal);
    }) as typeof fetch;

  test.each(['throws', 'rejects'] as const)(
    'a keepalive request the browser refuses (fetch %s with a TypeError) is sent once more without keepalive',
    async (how) => {
      const net = createRecordingFetch(refusingKeepalive(how));
      const response = await transportOn(net.fetch).send(bytes(1_000), 5_000);
      expect(response.status).toBe('success');
      expect(net.exchanges.map((e) => e.keepalive)).toEqual([true, false]);
      expect(pageBudget()).toEqual({ bytes: 0, requests: 0 });
    }
  );

  test('while the page unloads a refused keepalive request is not sent again (it would be cancelled): retryable, back to the outbox', async () => {
    const net = createRecordingFetch(refusingKeepalive('rejects'));
    const response = await transportOn(net.fetch, true).send(bytes(1_000), 5_000);
    expect(response.status).toBe('retryable');
    expect(net.exchanges.map((e) => e.keepalive)).toEqual([true]);
  });

  test('a timeout is no refusal: not sent again', async () => {
    const net = createRecordingFetch(() => Promise.reject(new DOMException('signal timed out', 'TimeoutError')));
    const response = await transportOn(net.fetch).send(bytes(1_000), 5_000);
    expect(response.status).toBe('retryable');
    expect(net.exchanges).toHaveLength(1);
  });
});
