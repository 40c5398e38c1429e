import { createDashboardLedger, type LedgerEntry } from './inventory/index.ts';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import type { MetricsRequest, NumberPoint } from './decode/index.ts';
import { createAttributeLimiter } from './limits/index.ts';
import { createPipeline } from './pipeline.ts';
import { createPrivacyPolicy, PERSONAL_KEYS } from './privacy/index.ts';
import { createSelfMetrics } from './self-metrics.ts';
import { createTestAggregation } from './testing/aggregate-stage.ts';

/** Each ledger entry's times by uid (its labels and points are the gauges', not state). */
const times = (ledger: { entries(): Iterable<[string, LedgerEntry]> }) =>
  Object.fromEntries(
    [...ledger.entries()].map(([uid, { firstSeen, lastOpened, lastListed }]) => [
      uid,
      JSON.parse(JSON.stringify({ firstSeen, lastOpened, lastListed })),
    ])
  );

function setup(maxSeries: number, maxPointsPerRequest = 1000) {
  const meterProvider = new MeterProvider();
  const stage = createTestAggregation({ maxSeries });
  const ledger = createDashboardLedger(100);
  const pipeline = createPipeline({
    privacy: createPrivacyPolicy({
      mode: 'deny',
      deny: PERSONAL_KEYS,
      allow: [],
      hash: undefined,
      pseudonymKey: 'user.hash',
      redactEmailValues: true,
    }),
    limiter: createAttributeLimiter({ maxAttributesPerPoint: 32, maxKeyLength: 128, maxValueLength: 256 }),
    aggregator: stage.aggregator,
    selfMetrics: createSelfMetrics(meterProvider, { seriesPerFamily: () => new Map() }),
    maxPointsPerRequest,
    ledger,
    now: () => 1_000_000,
  });
  return { pipeline, registry: stage.registry, ledger };
}

const TIMES = { startTime: 0, time: 0, noRecordedValue: false };

function heartbeats(
  points: Array<[uid: string, value: number | undefined, flags?: 'no_recorded_value']>,
  name = 'grafana.dashboard.heartbeats'
): MetricsRequest {
  const data: NumberPoint[] = points.map(([uid, value, flags]) => ({
    attributes: [['dashboard.uid', uid]],
    value,
    ...TIMES,
    noRecordedValue: flags === 'no_recorded_value',
  }));
  return {
    resources: [
      {
        attributes: [],
        metrics: [{ type: 'sum', name, unit: '', temporality: 'delta', monotonic: true, points: data }],
      },
    ],
  };
}

describe('pipeline', () => {
  it("notes a dashboard's last-opened time for recorded sessions only, and not for a uid folded into the overflow", () => {
    const { pipeline, ledger } = setup(3);
    pipeline.ingest(heartbeats([['watched', 3]]));
    pipeline.ingest(
      heartbeats(
        [
          ['opened', 1],
          ['refused', -1],
          ['zero', 0],
        ],
        'grafana.dashboard.sessions'
      )
    );
    // A session count of 0 opens nothing; it still takes a place, so the cap of 3 is reached at 'second'.
    pipeline.ingest(
      heartbeats(
        [
          ['second', 1],
          ['overflowed', 1],
        ],
        'grafana.dashboard.sessions'
      )
    );
    expect(times(ledger)).toEqual({ opened: { lastOpened: 1_000_000 }, second: { lastOpened: 1_000_000 } });
  });

  it('never lets a refused point take a place under the series cap', () => {
    const { pipeline, registry } = setup(3);
    const refused = pipeline.ingest(
      heartbeats([
        ['bad1', -1],
        ['bad2', NaN],
        ['bad3', -5],
      ])
    );
    expect(refused.rejectedDataPoints).toBe(3);
    expect(registry.sizes().get('footfall_dashboard_heartbeats_total') ?? 0).toBe(0);
    const accepted = pipeline.ingest(heartbeats([['good', 5]]));
    expect(accepted.rejectedDataPoints).toBe(0);
  });

  it('skips a point flagged as having no recorded value without refusing it, and refuses one with no value', () => {
    const { pipeline, registry } = setup(3);
    const result = pipeline.ingest(
      heartbeats([
        ['flagged', undefined, 'no_recorded_value'],
        ['empty', undefined],
        ['ok', 1],
      ])
    );
    expect(result).toEqual({
      rejectedDataPoints: 1,
      errorMessage: 'grafana.dashboard.heartbeats: a data point must have asDouble or asInt',
    });
    expect(registry.sizes().get('footfall_dashboard_heartbeats_total')).toBe(1);
  });

  it('refuses points past the per-request cap and keeps the ones before it', () => {
    const { pipeline } = setup(100, 2);
    const result = pipeline.ingest(
      heartbeats([
        ['a', 1],
        ['b', 1],
        ['c', 1],
      ])
    );
    expect(result).toEqual({ rejectedDataPoints: 1, errorMessage: 'more than 2 points in one request' });
  });

  it('reports every refusal reason, at most three messages', () => {
    const { pipeline } = setup(100);
    const request: MetricsRequest = {
      resources: [
        {
          attributes: [],
          metrics: [
            { type: 'unsupported', kind: 'summary', name: 's', unit: '', pointCount: 2 },
            {
              type: 'sum',
              name: 'x.unknown',
              unit: '',
              temporality: 'delta',
              monotonic: true,
              points: [{ attributes: [], value: 1, ...TIMES }],
            },
            {
              type: 'sum',
              name: 'grafana.dashboard.queries',
              unit: '',
              temporality: 'cumulative',
              monotonic: true,
              points: [{ attributes: [], value: 1, ...TIMES }],
            },
            {
              type: 'gauge',
              name: 'grafana.dashboard.sessions',
              unit: '',
              points: [{ attributes: [], value: 1, ...TIMES }],
            },
          ],
        },
      ],
    };
    const result = pipeline.ingest(request);
    expect(result.rejectedDataPoints).toBe(5);
    expect(result.errorMessage).toMatch(
      /^s: summary is not supported; metric "x\.unknown" is not in the catalog; .*only DELTA is accepted.*; and 1 more reasons$/
    );
  });
});
