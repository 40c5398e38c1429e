import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createInventory, sourceKey, type InventorySource } from './inventory.js';
import { createDashboardLedger, type LedgerEntry } from './ledger.js';
import { createDashboardsProducer } from './producer.js';

/** Each ledger entry's times by uid (its labels and points are the gauges', not state). */
const times = (ledger: { entries(): Iterable<[string, LedgerEntry]> }) =>
  Object.fromEntries(
    [...ledger.entries()].map(([uid, { firstSeen, lastOpened, lastListed }]) => [
      uid,
      JSON.parse(JSON.stringify({ firstSeen, lastOpened, lastListed })),
    ])
  );

interface FakeGrafana {
  /** token → the org's dashboards as search hits, or a status to answer. */
  orgs: Map<string, Array<Record<string, unknown>> | number>;
  calls: number;
}

function fakeFetch(grafana: FakeGrafana): typeof fetch {
  return (async (input: string, init?: RequestInit) => {
    grafana.calls++;
    const url = new URL(input);
    const token = String((init?.headers as Record<string, string>)['Authorization']).replace('Bearer ', '');
    const org = grafana.orgs.get(token);
    if (org === undefined) {
      return new Response('{"message":"Unauthorized"}', { status: 401 });
    }
    if (typeof org === 'number') {
      return new Response('{}', { status: org });
    }
    const limit = Number(url.searchParams.get('limit'));
    const page = Number(url.searchParams.get('page'));
    return new Response(JSON.stringify(org.slice((page - 1) * limit, page * limit)), { status: 200 });
  }) as typeof fetch;
}

const hits = (prefix: string, n: number, folder?: string) =>
  Array.from({ length: n }, (_, i) => ({
    uid: `${prefix}-${i}`,
    title: `${prefix} ${i}`,
    type: 'dash-db',
    ...(folder ? { folderTitle: folder } : {}),
  }));

function setup(
  sources: InventorySource[],
  grafana: FakeGrafana,
  extra: { maxPending?: number; maxDashboards?: number; fetch?: typeof fetch } = {}
) {
  let clock = 1_000_000;
  const ledger = createDashboardLedger(1000);
  const reports: string[] = [];
  const inventory = createInventory({
    sources,
    fetch: extra.fetch ?? fakeFetch(grafana),
    intervalMs: 3_600_000,
    minIntervalMs: 1000,
    timeoutMs: 1000,
    pageSize: 2,
    maxDashboards: extra.maxDashboards ?? 100,
    maxPending: extra.maxPending ?? 100,
    maxPendingPerSender: 3,
    labelValue: (v) => v.slice(0, 8),
    ledger,
    forgetUnlistedAfterMs: 3_600_000,
    logger: pino({ level: 'silent' }),
    report: (r) => reports.push(r),
    now: () => clock,
  });
  return { inventory, ledger, reports, tick: (ms: number) => (clock += ms) };
}

const URL_A = 'http://grafana/grafana';

describe('dashboard inventory', () => {
  it('pages through every dashboard, names them with the label cap, and merges orgs', async () => {
    const grafana: FakeGrafana = {
      orgs: new Map([
        ['a', hits('one', 5, 'Ops')],
        ['b', hits('two', 1)],
      ]),
      calls: 0,
    };
    const { inventory, reports } = setup(
      [
        { grafanaUrl: URL_A, token: 'a' },
        { grafanaUrl: URL_A, token: 'b' },
      ],
      grafana
    );
    await inventory.refresh();
    expect([...inventory.dashboards().keys()].sort()).toEqual(['one-0', 'one-1', 'one-2', 'one-3', 'one-4', 'two-0']);
    expect(inventory.lookup('one-3')).toEqual({ name: 'one 3', folder: 'Ops' });
    expect(inventory.lookup('two-0')).toEqual({ name: 'two 0', folder: '' });
    // Five at two a page is three pages, one at two a page is one.
    expect(grafana.calls).toBe(4);
    expect(reports).toEqual(['ok', 'ok']);
  });

  it('an unlisted uid waits for a listing begun after it was seen; then it is unknown without asking again', async () => {
    const grafana: FakeGrafana = { orgs: new Map([['a', hits('d', 1)]]), calls: 0 };
    const { inventory, tick } = setup([{ grafanaUrl: URL_A, token: 'a' }], grafana);
    await inventory.refresh();
    expect(inventory.waitFor(new Set(['d-0']))).toBeUndefined();
    expect(inventory.waitFor(new Set(['d-0', 'new']))).toBeGreaterThanOrEqual(1);
    // Made in Grafana before the next listing: found by it.
    grafana.orgs.set('a', [...hits('d', 1), { uid: 'new', title: 'New' }]);
    tick(1000);
    await inventory.refresh();
    expect(inventory.waitFor(new Set(['new']))).toBeUndefined();
    expect(inventory.lookup('new')?.name).toBe('New');

    expect(inventory.waitFor(new Set(['invented']))).toBeDefined();
    tick(1000);
    await inventory.refresh();
    const calls = grafana.calls;
    expect(inventory.waitFor(new Set(['invented']))).toBeUndefined();
    expect(inventory.lookup('invented')).toBeUndefined();
    expect(grafana.calls).toBe(calls);
  });

  it("one org failing keeps its last listing and decides no unlisted uid (it may be that org's)", async () => {
    const grafana: FakeGrafana = {
      orgs: new Map([
        ['a', hits('a', 2)],
        ['b', hits('b', 2)],
      ]),
      calls: 0,
    };
    const { inventory, reports, tick } = setup(
      [
        { grafanaUrl: URL_A, token: 'a' },
        { grafanaUrl: URL_A, token: 'b' },
      ],
      grafana
    );
    await inventory.refresh();
    const lastSuccess = inventory.lastSuccess();
    grafana.orgs.set('b', 500);
    inventory.waitFor(new Set(['maybe-b']));
    tick(1000);
    await inventory.refresh();
    expect(inventory.lookup('b-1')?.name).toBe('b 1');
    expect(inventory.waitFor(new Set(['maybe-b']))).toBeDefined();
    expect(inventory.lastSuccess()).toBe(lastSuccess);
    expect(reports.slice(-2).sort()).toEqual(['http_error', 'ok']);
  });

  it('past maxPending, an unlisted uid is refused at once instead of waiting', async () => {
    const grafana: FakeGrafana = { orgs: new Map([['a', hits('d', 1)]]), calls: 0 };
    const { inventory } = setup([{ grafanaUrl: URL_A, token: 'a' }], grafana, { maxPending: 2 });
    await inventory.refresh();
    expect(inventory.waitFor(new Set(['x1', 'x2']))).toBeDefined();
    expect(inventory.waitFor(new Set(['x3']))).toBeUndefined();
    expect(inventory.lookup('x3')).toBeUndefined();
  });

  it("one sender's unlisted uids wait only up to its share; others' still wait for the listing", async () => {
    const grafana: FakeGrafana = { orgs: new Map([['a', hits('d', 1)]]), calls: 0 };
    const { inventory } = setup([{ grafanaUrl: URL_A, token: 'a' }], grafana);
    await inventory.refresh();
    expect(inventory.waitFor(new Set(['x1', 'x2', 'x3', 'x4', 'x5']), 'user:mallory')).toBeDefined();
    // Mallory's share (3) is used: more of hers are refused at once.
    expect(inventory.waitFor(new Set(['x6']), 'user:mallory')).toBeUndefined();
    // A dashboard made a moment ago, first opened by someone else, still waits for the listing.
    expect(inventory.waitFor(new Set(['brand-new']), 'user:alice')).toBeDefined();
    // A forwarding collector (no subject) has no share of its own, only the global cap.
    expect(inventory.waitFor(new Set(['y1', 'y2', 'y3', 'y4']))).toBeDefined();
  });

  it('a listing past maxDashboards fails and the last one stays', async () => {
    const grafana: FakeGrafana = { orgs: new Map([['a', hits('d', 3)]]), calls: 0 };
    const { inventory, reports } = setup([{ grafanaUrl: URL_A, token: 'a' }], grafana, { maxDashboards: 3 });
    await inventory.refresh();
    grafana.orgs.set('a', hits('d', 7));
    await inventory.refresh();
    expect(inventory.dashboards().size).toBe(3);
    expect(reports).toEqual(['ok', 'too_many']);
  });

  it('a Grafana answering an endless body fails the listing without reading it all', async () => {
    let sent = 0;
    const chunk = new Uint8Array(1 << 20).fill(0x20);
    const endless = (async () =>
      new Response(
        new ReadableStream({
          pull(controller) {
            // Stops at 256 MiB so the test ends even when the whole body is read.
            if (sent >= 256 * chunk.length) {
              return controller.close();
            }
            sent += chunk.length;
            controller.enqueue(chunk);
          },
        }),
        { status: 200 }
      )) as unknown as typeof fetch;
    const { inventory, reports } = setup(
      [{ grafanaUrl: URL_A, token: 'a' }],
      { orgs: new Map(), calls: 0 },
      { fetch: endless }
    );
    await inventory.refresh();
    expect(reports).toEqual(['garbage']);
    expect(sent).toBeLessThan(64 * chunk.length);
  });

  it('a saved listing goes back only to the source it came from, and never holds the token', async () => {
    const grafana: FakeGrafana = { orgs: new Map([['a', hits('d', 2)]]), calls: 0 };
    const first = setup([{ grafanaUrl: URL_A, token: 'a' }], grafana);
    await first.inventory.refresh();
    const saved = first.inventory.snapshot();
    expect(JSON.stringify(saved)).not.toContain('"a"');
    expect(saved[0]!.source).toBe(sourceKey({ grafanaUrl: URL_A, token: 'a' }));

    const same = setup([{ grafanaUrl: URL_A, token: 'a' }], { orgs: new Map(), calls: 0 });
    same.inventory.restore(saved);
    expect(same.inventory.lookup('d-1')?.name).toBe('d 1');
    const other = setup([{ grafanaUrl: URL_A, token: 'another' }], { orgs: new Map(), calls: 0 });
    other.inventory.restore(saved);
    expect(other.inventory.dashboards().size).toBe(0);
  });

  it('notes when each dashboard was first listed, and forgets one Grafana no longer lists only after forgetUnlistedAfterMs', async () => {
    const grafana: FakeGrafana = { orgs: new Map([['d', hits('d', 2)]]), calls: 0 };
    grafana.orgs.set('a', grafana.orgs.get('d')!);
    const { inventory, ledger, tick } = setup([{ grafanaUrl: URL_A, token: 'a' }], grafana);
    await inventory.refresh();
    ledger.opened('d-0', 5);
    tick(60_000);
    // d-0 is gone (deleted, or its folder out of the token's reach), d-9 is new.
    grafana.orgs.set('a', [
      { uid: 'd-1', title: 'd 1' },
      { uid: 'd-9', title: 'd 9' },
    ]);
    await inventory.refresh();
    expect(times(ledger)).toEqual({
      'd-0': { firstSeen: 1_000_000, lastListed: 1_000_000, lastOpened: 5 },
      'd-1': { firstSeen: 1_000_000, lastListed: 1_060_000 },
      'd-9': { firstSeen: 1_060_000, lastListed: 1_060_000 },
    });
    // Back within the hour: its history is intact.
    grafana.orgs.set('a', hits('d', 2));
    tick(60_000);
    await inventory.refresh();
    expect(times(ledger)['d-0']).toEqual({ firstSeen: 1_000_000, lastListed: 1_120_000, lastOpened: 5 });
    // Gone for longer than an hour: forgotten.
    grafana.orgs.set('a', [{ uid: 'd-1', title: 'd 1' }]);
    tick(3_700_000);
    await inventory.refresh();
    expect([...ledger.entries()].map(([uid]) => uid).sort()).toEqual(['d-1']);
  });

  it('a listing that comes back empty where there were dashboards (a token that lost its access) keeps the last one and every last-opened time', async () => {
    const grafana: FakeGrafana = { orgs: new Map([['a', hits('d', 2)]]), calls: 0 };
    const { inventory, ledger, reports, tick } = setup([{ grafanaUrl: URL_A, token: 'a' }], grafana);
    await inventory.refresh();
    ledger.opened('d-1', 5);
    // What Grafana's search answers a service account whose role no longer sees any dashboard.
    grafana.orgs.set('a', []);
    tick(60_000);
    await inventory.refresh();
    expect(reports).toEqual(['ok', 'empty']);
    expect(inventory.lookup('d-1')?.name).toBe('d 1');
    expect(times(ledger)['d-1']).toMatchObject({ firstSeen: 1_000_000, lastOpened: 5 });
  });
});

describe('dashboard gauges', () => {
  it("show Grafana's dashboards only: one no longer listed keeps its times in the ledger but leaves /metrics", async () => {
    const grafana: FakeGrafana = { orgs: new Map([['a', hits('d', 2, 'Ops')]]), calls: 0 };
    const { inventory, ledger } = setup([{ grafanaUrl: URL_A, token: 'a' }], grafana);
    await inventory.refresh();
    ledger.opened('d-0', 60_000);
    ledger.opened('gone', 120_000);
    const { resourceMetrics } = await createDashboardsProducer(inventory, ledger).collect();
    const series = Object.fromEntries(
      resourceMetrics.scopeMetrics[0]!.metrics.map((m) => [
        m.descriptor.name,
        // In no particular order: the ledger's is the order of last touch.
        m.dataPoints
          .map((p) => [p.attributes, p.value])
          .sort((a, b) => String(a[0]!.dashboard_uid).localeCompare(String(b[0]!.dashboard_uid))),
      ])
    );
    expect(series).toEqual({
      footfall_dashboard_info: [
        [{ dashboard_uid: 'd-0', dashboard_name: 'd 0', dashboard_folder: 'Ops' }, 1],
        [{ dashboard_uid: 'd-1', dashboard_name: 'd 1', dashboard_folder: 'Ops' }, 1],
      ],
      footfall_dashboard_first_seen_timestamp_seconds: [
        [{ dashboard_uid: 'd-0' }, 1000],
        [{ dashboard_uid: 'd-1' }, 1000],
      ],
      footfall_dashboard_last_opened_timestamp_seconds: [[{ dashboard_uid: 'd-0' }, 60]],
    });
    expect(times(ledger)['gone']).toEqual({ lastOpened: 120_000 });
  });
});

describe('dashboard gauges of a large ledger', () => {
  it('gives each dashboard one sample, even when a session moves it to the end of the ledger during the walk', async () => {
    const ledger = createDashboardLedger(100_000);
    for (let i = 0; i < 12_000; i++) {
      ledger.opened(`d-${i}`, 1000 + i);
    }
    const collecting = createDashboardsProducer(undefined, ledger).collect();
    // Lands between two slices of the walk, after d-1 was met.
    setImmediate(() => ledger.opened('d-1', 99_000));
    const { resourceMetrics } = await collecting;
    const uids = resourceMetrics.scopeMetrics[0]!.metrics[0]!.dataPoints.map((p) => p.attributes.dashboard_uid);
    expect(uids).toHaveLength(12_000);
    expect(new Set(uids).size).toBe(12_000);
    // The next collection shows the new time.
    const next = await createDashboardsProducer(undefined, ledger).collect();
    expect(
      next.resourceMetrics.scopeMetrics[0]!.metrics[0]!.dataPoints.find((p) => p.attributes.dashboard_uid === 'd-1')
        ?.value
    ).toBe(99);
  });
});

describe('dashboard ledger', () => {
  it('is bounded, the least recently touched going first, and merges saved times (latest opened, earliest listed)', () => {
    const ledger = createDashboardLedger(2);
    ledger.opened('a', 10);
    ledger.opened('b', 20);
    ledger.opened('c', 30);
    expect([...ledger.entries()].map(([uid]) => uid).sort()).toEqual(['b', 'c']);
    ledger.restore([{ uid: 'c', lastOpened: 5, firstSeen: 1 }], 100);
    expect(times(ledger)['c']).toEqual({ lastOpened: 30, firstSeen: 1 });
  });

  it('a saved time later than now (a clock that ran ahead, a hand-edited file) is not restored: it would never be replaced', () => {
    const ledger = createDashboardLedger(10);
    ledger.restore([{ uid: 'a', lastOpened: 9_000_000_000_000, firstSeen: 9_000_000_000_000 }], 2_000_000_000_000);
    ledger.opened('a', 2_000_000_000_000);
    ledger.listed(['a'], 2_000_000_000_000);
    expect(times(ledger)['a']).toEqual({
      lastOpened: 2_000_000_000_000,
      firstSeen: 2_000_000_000_000,
      lastListed: 2_000_000_000_000,
    });
  });
});
