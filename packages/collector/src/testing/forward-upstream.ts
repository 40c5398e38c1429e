/**
 * For the forward stage's unit tests: a recording OTLP/HTTP upstream on loopback that decodes what it
 * is sent with the collector's own protobuf codec and answers as told, and catalog-like data to send.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type MetricData,
  type MetricProducer,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { createProtobufCodec, type AttributeValue } from '../decode/index.ts';

/** How the upstream answers one request: an HTTP error, or 200 with a partial success. */
export type UpstreamReply =
  | { readonly status: number; readonly retryAfterSeconds?: number }
  | { readonly rejected: number; readonly message: string };

export interface ReceivedPoint {
  readonly metric: string;
  readonly attributes: Record<string, AttributeValue>;
  /** The number, or a histogram's count. */
  readonly value: number;
  /** The point's time (its end), as the decoder reads it. */
  readonly time: number;
}

export interface ReceivedRequest {
  /** The body's size after decompression. */
  readonly bytes: number;
  /** The status it was answered with. */
  readonly status: number;
  readonly resource: Record<string, AttributeValue>;
  readonly points: ReceivedPoint[];
}

export interface RecordingUpstream {
  /** The OTLP/HTTP metrics URL. */
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Answers for the next requests, in order; once they are used up, 200 with an empty response. */
  replies: UpstreamReply[];
  /** The requests answered 200. */
  delivered(): ReceivedRequest[];
  close(): Promise<void>;
}

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const codec = createProtobufCodec();
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const decoded = codec.decodeRequest(body);
      const reply = upstream.replies.shift();
      const status = reply === undefined || 'rejected' in reply ? 200 : reply.status;
      const resource = decoded.resources[0]?.attributes ?? [];
      received.push({
        bytes: body.length,
        status,
        resource: Object.fromEntries(resource),
        points: decoded.resources.flatMap((r) =>
          r.metrics.flatMap((m) =>
            m.type === 'unsupported'
              ? []
              : m.points.map((p) => ({
                  metric: m.name,
                  attributes: Object.fromEntries(p.attributes),
                  value: 'count' in p ? p.count : p.value!,
                  time: p.time,
                }))
          )
        ),
      });
      if (reply !== undefined && 'status' in reply) {
        const headers: Record<string, string> = { 'content-type': 'text/plain' };
        if (reply.retryAfterSeconds !== undefined) {
          headers['retry-after'] = String(reply.retryAfterSeconds);
        }
        res.writeHead(reply.status, headers).end('no\n');
        return;
      }
      const answer = codec.encodeResponse({
        rejectedDataPoints: reply?.rejected ?? 0,
        errorMessage: reply?.message ?? '',
      });
      res.writeHead(200, { 'content-type': codec.contentType }).end(answer);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const upstream: RecordingUpstream = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`,
    received,
    replies: [],
    delivered: () => received.filter((r) => r.status === 200),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  return upstream;
}

export const TEST_SCOPE = 'footfall.test';

/** A cumulative monotonic sum with one point per series (attributes → value). */
export function cumulativeSum(
  name: string,
  series: ReadonlyArray<readonly [Record<string, string>, number]>
): MetricData {
  return {
    descriptor: { name, description: '', unit: '', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: series.map(([attributes, value]) => ({
      startTime: [1_700_000_000, 0],
      endTime: [1_700_000_060, 0],
      attributes,
      value,
    })),
  };
}

/** A cumulative histogram on the given boundaries, one point per series. */
export function cumulativeHistogram(
  name: string,
  boundaries: number[],
  series: ReadonlyArray<readonly [Record<string, string>, number[]]>
): MetricData {
  return {
    descriptor: { name, description: '', unit: 's', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: series.map(([attributes, counts]) => ({
      startTime: [1_700_000_000, 0],
      endTime: [1_700_000_060, 0],
      attributes,
      value: { buckets: { boundaries, counts }, count: counts.reduce((a, b) => a + b, 0), sum: 1.5 * counts.length },
    })),
  };
}

export function resourceMetrics(metrics: MetricData[]): ResourceMetrics {
  return {
    resource: resourceFromAttributes({ 'service.name': 'test' }),
    scopeMetrics: [{ scope: { name: TEST_SCOPE }, metrics }],
  };
}

/** A catalog whose metrics the test sets before each collection. */
export function settableCatalog(): MetricProducer & { metrics: MetricData[] } {
  const catalog = {
    metrics: [] as MetricData[],
    async collect(): Promise<CollectionResult> {
      return { resourceMetrics: resourceMetrics(catalog.metrics), errors: [] };
    },
  };
  return catalog;
}
