import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type RunningCollector } from './support/collector.ts';
import { scrape, sumOf } from './support/exposition.ts';

describe('smoke', () => {
  let c: RunningCollector;
  beforeAll(async () => {
    c = await startCollector();
  });
  afterAll(() => c.close());

  it('counts a JSON session', async () => {
    const res = await fetch(`${c.url}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceMetrics: [
          {
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'grafana.dashboard.sessions',
                    sum: {
                      aggregationTemporality: 1,
                      isMonotonic: true,
                      dataPoints: [
                        { asInt: '3', attributes: [{ key: 'dashboard.uid', value: { stringValue: 'd1' } }] },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const { samples } = await scrape(c.url);
    expect(sumOf(samples, 'grafana_analytics_sessions_total', { dashboard_uid: 'd1' })).toBe(3);
  });
});
