import { ValueType } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { emptyResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  type CollectionResult,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { Request, Response } from 'express';
import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { acceptsGzip, createPrometheusExposition, EXPOSITION_CONTENT_TYPE } from './prometheus.ts';

const TIME: [number, number] = [1_700_000_000, 0];

/** A producer of `series` sessions counter series that counts its collections (each its number as the value, unless `constant`). */
function sessions(series: number, constant = false) {
  const producer = {
    collections: 0,
    onCollect: () => {},
    async collect(): Promise<CollectionResult> {
      producer.collections++;
      producer.onCollect();
      return {
        resourceMetrics: {
          resource: emptyResource(),
          scopeMetrics: [
            {
              scope: { name: 'footfall' },
              metrics: [
                {
                  descriptor: {
                    name: 'grafana_analytics_sessions_total',
                    description: 'Sessions.',
                    unit: '{session}',
                    valueType: ValueType.DOUBLE,
                  },
                  aggregationTemporality: AggregationTemporality.CUMULATIVE,
                  dataPointType: DataPointType.SUM,
                  isMonotonic: true,
                  dataPoints: Array.from({ length: series }, (_, i) => ({
                    attributes: { dashboard_uid: `d${i}`, dashboard_name: `Board "${i}"` },
                    startTime: TIME,
                    endTime: TIME,
                    value: constant ? 1 : producer.collections,
                  })),
                },
              ],
            },
          ],
        },
        errors: [],
      };
    },
  } satisfies MetricProducer & { collections: number; onCollect: () => void };
  return producer;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** The exposition as the collector wires it (a MeterProvider with it as reader), on a server of its own, plus an "intake" route. */
async function serve(producer: MetricProducer, events: string[] = []) {
  const exposition = createPrometheusExposition([producer]);
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'footfall-collector' }),
    readers: [exposition.exporter],
  });
  provider.getMeter('footfall-collector').createCounter('footfall_requests').add(1, { route: 'otlp' });
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      // The page is done when its length is known.
      const setHeader = res.setHeader.bind(res);
      res.setHeader = (name, value) => (
        name === 'Content-Length' && events.push('page rendered'),
        setHeader(name, value)
      );
      exposition.handle(req as Request, res as unknown as Response);
    } else {
      events.push('other request answered');
      res.end('ok');
    }
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { port, exposition };
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {}
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

describe('/metrics', () => {
  it('answers with the exporter’s page and the Prometheus text content type', async () => {
    const { port, exposition } = await serve(sessions(3, true));
    const res = await get(port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(EXPOSITION_CONTENT_TYPE);
    expect(res.headers['content-encoding']).toBeUndefined();
    const text = res.body.toString('utf8');
    expect(text).toContain('target_info{service_name="footfall-collector"');
    expect(text).toContain('footfall_requests_total{route="otlp"} 1\n');
    expect(text).toContain('grafana_analytics_sessions_total{dashboard_uid="d2",dashboard_name="Board \\"2\\""} 1\n');
    // The same collection, serialized by the exporter itself.
    const { resourceMetrics } = await exposition.exporter.collect();
    const reference = new PrometheusSerializer(undefined, false, undefined, false, true).serialize(resourceMetrics);
    expect(text).toBe(reference);
  });

  it('sends gzip when the scraper asks for it, the same page once decompressed, and says it varies', async () => {
    const { port } = await serve(sessions(5000, true));
    const plain = await get(port, '/metrics', { 'accept-encoding': 'identity' });
    const zipped = await get(port, '/metrics', { 'accept-encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('Accept-Encoding');
    expect(plain.headers.vary).toBe('Accept-Encoding');
    expect(zipped.body.length).toBeLessThan(plain.body.length / 5);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect(Number(zipped.headers['content-length'])).toBe(zipped.body.length);
  });

  it('reads Accept-Encoding as Prometheus and proxies write it', () => {
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('identity, gzip;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('deflate, br')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });

  it('gives scrapes in flight together one rendering, and a scrape after it a new one', async () => {
    const producer = sessions(20_000);
    const { port } = await serve(producer);
    const [a, b] = await Promise.all([get(port, '/metrics'), get(port, '/metrics', { 'accept-encoding': 'gzip' })]);
    expect(producer.collections).toBe(1);
    expect(gunzipSync(b.body).equals(a.body)).toBe(true);
    const c = await get(port, '/metrics');
    expect(producer.collections).toBe(2);
    expect(c.body.equals(a.body)).toBe(false);
  });

  it('never writes a page into buffers a scrape is still sending: a stalled scraper gets its own page whole', async () => {
    // Each collection gives every series the collection's number: a page is one number throughout.
    const producer = sessions(60_000);
    const { port } = await serve(producer);
    const lines = (body: Buffer) =>
      body
        .toString('utf8')
        .split('\n')
        .filter((l) => l.startsWith('grafana_analytics_sessions_total{'));
    // A scraper that stops reading: its page waits in the collector's buffers, not the kernel's.
    const stalled = new Promise<Buffer>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        res.pause();
        const chunks: Buffer[] = [];
        setTimeout(() => {
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.resume();
        }, 1500);
      })
        .on('error', reject)
        .end();
    });
    // One that goes away in the middle of its page.
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => resolve());
      req.end();
    });
    const later = [];
    for (let i = 0; i < 3; i++) {
      later.push(await get(port, '/metrics', i === 1 ? { 'accept-encoding': 'gzip' } : {}));
    }
    const pages = [
      await stalled,
      ...later.map((r) => (r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.body) : r.body)),
    ];
    const values = pages.map((page) => new Set(lines(page).map((l) => l.slice(l.lastIndexOf(' ') + 1))));
    for (const page of pages) {
      expect(lines(page)).toHaveLength(60_000);
    }
    // Each page holds one collection's number only, and every page a different one.
    expect(values.every((v) => v.size === 1)).toBe(true);
    expect(new Set(values.map((v) => [...v][0])).size).toBe(pages.length);
  });

  it('answers other requests while a large page is being rendered', async () => {
    const producer = sessions(100_000);
    const events: string[] = [];
    const { port } = await serve(producer, events);
    let other: Promise<unknown> | undefined;
    // Sent from this process once the collection starts: a rendering that never gave the event loop
    // back would be finished before the request even left.
    producer.onCollect = () => void (other ??= get(port, '/v1/metrics'));
    const page = await get(port, '/metrics');
    await other;
    expect(events).toEqual(['other request answered', 'page rendered']);
    expect(
      page.body
        .toString('utf8')
        .split('\n')
        .filter((l) => l.startsWith('grafana_analytics_sessions_total{'))
    ).toHaveLength(100_000);
  });
});
