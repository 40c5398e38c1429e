import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { createAggregator, createHistogramStore, METRIC_CATALOG } from './aggregate/index.ts';
import type { MetricsRequest, NumberPoint } from './decode/index.ts';
import { createAttributeLimiter, createSeriesCap } from './limits/index.ts';
import { createPipeline } from './pipeline.ts';
import { createPrivacyPolicy, PERSONAL_KEYS } from './privacy/index.ts';
import { createSelfMetrics } from './self-metrics.ts';

function setup(maxSeriesPerMetric: number, maxPointsPerRequest = 1000) {
  const meterProvider = new MeterProvider();
  const seriesCap = createSeriesCap(maxSeriesPerMetric);
  const pipeline = createPipeline({
    privacy: createPrivacyPolicy({ mode: 'deny', deny: PERSONAL_KEYS, allow: [], hash: undefined, pseudonymKey: 'user.hash', redactEmailValues: true }),
    limiter: createAttributeLimiter({ maxAttributesPerPoint: 32, maxKeyLength: 128, maxValueLength: 256 }),
    seriesCap,
    aggregator: createAggregator({ catalog: METRIC_CATALOG, meterProvider, histograms: createHistogramStore(METRIC_CATALOG) }),
    selfMetrics: createSelfMetrics(meterProvider),
    maxPointsPerRequest,
  });
  return { pipeline, seriesCap };
}

function heartbeats(points: Array<[uid: string, value: number]>): MetricsRequest {
  const data: NumberPoint[] = points.map(([uid, value]) => ({ attributes: [['dashboard.uid', uid]], value }));
  return {
    resources: [
      { attributes: [], metrics: [{ type: 'sum', name: 'grafana.dashboard.heartbeats', unit: '', temporality: 'delta', monotonic: true, points: data }] },
    ],
  };
}

describe('pipeline', () => {
  it('never lets a refused point take a slot of the lifetime series cap', () => {
    const { pipeline, seriesCap } = setup(3);
    const refused = pipeline.ingest(heartbeats([['bad1', -1], ['bad2', NaN], ['bad3', -5]]));
    expect(refused.rejectedDataPoints).toBe(3);
    const accepted = pipeline.ingest(heartbeats([['good', 5]]));
    expect(accepted.rejectedDataPoints).toBe(0);
    expect(seriesCap.admit('grafana.dashboard.heartbeats', { dashboard_uid: 'good' }).overflow).toBe(false);
  });

  it('refuses points past the per-request cap and keeps the ones before it', () => {
    const { pipeline } = setup(100, 2);
    const result = pipeline.ingest(heartbeats([['a', 1], ['b', 1], ['c', 1]]));
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
            { type: 'sum', name: 'x.unknown', unit: '', temporality: 'delta', monotonic: true, points: [{ attributes: [], value: 1 }] },
            { type: 'sum', name: 'grafana.dashboard.queries', unit: '', temporality: 'cumulative', monotonic: true, points: [{ attributes: [], value: 1 }] },
            { type: 'gauge', name: 'grafana.dashboard.sessions', unit: '', points: [{ attributes: [], value: 1 }] },
          ],
        },
      ],
    };
    const result = pipeline.ingest(request);
    expect(result.rejectedDataPoints).toBe(5);
    expect(result.errorMessage).toMatch(/^s: summary is not supported; metric "x\.unknown" is not in the catalog; .*only DELTA is accepted.*; and 1 more reasons$/);
  });
});
