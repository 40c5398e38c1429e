import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { MetricData, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';

/** What one request to the upstream may hold. */
export interface RequestLimits {
  /** Data points (a histogram point is one). */
  readonly maxPoints: number;
  /** Bytes of the protobuf body before compression: upstreams limit the body after decompressing it. */
  readonly maxBytes: number;
}

/** One OTLP/HTTP request: its protobuf body (before compression) and the points in it. */
export interface ForwardRequest {
  readonly body: Uint8Array;
  readonly points: number;
}

/** A point whose request alone is over the byte limit: it can never be sent. */
export interface OversizePoint {
  readonly metric: string;
  readonly bytes: number;
}

export interface SplitRequests {
  readonly requests: ForwardRequest[];
  readonly oversize: OversizePoint[];
}

/**
 * One collection as requests that fit the upstream's limits, in the collection's order. A request is
 * measured by serializing it (the resource, scope and metric descriptors repeat in every request, so
 * the size of the points alone would not do); one that is too big is halved until its parts fit.
 */
export function splitRequests(metrics: ResourceMetrics, limits: RequestLimits): SplitRequests {
  // Every point of the collection has a position; a request is a range of positions.
  const placed: Array<{ readonly scope: ScopeMetrics; readonly metric: MetricData; readonly offset: number }> = [];
  let total = 0;
  for (const scope of metrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      placed.push({ scope, metric, offset: total });
      total += metric.dataPoints.length;
    }
  }

  function assemble(start: number, end: number): ResourceMetrics {
    const scopeMetrics: ScopeMetrics[] = [];
    let current: { readonly from: ScopeMetrics; readonly into: ScopeMetrics } | undefined;
    for (const { scope, metric, offset } of placed) {
      const from = Math.max(start, offset);
      const to = Math.min(end, offset + metric.dataPoints.length);
      if (from >= to) {
        continue;
      }
      if (current?.from !== scope) {
        current = { from: scope, into: { scope: scope.scope, metrics: [] } };
        scopeMetrics.push(current.into);
      }
      // The same kind of points as the metric's own: only a range of them.
      current.into.metrics.push({
        ...metric,
        dataPoints: metric.dataPoints.slice(from - offset, to - offset),
      } as MetricData);
    }
    return { resource: metrics.resource, scopeMetrics };
  }

  const requests: ForwardRequest[] = [];
  const oversize: OversizePoint[] = [];
  function fit(start: number, end: number): void {
    const body = ProtobufMetricsSerializer.serializeRequest(assemble(start, end)) ?? new Uint8Array();
    if (body.length <= limits.maxBytes) {
      requests.push({ body, points: end - start });
    } else if (end - start === 1) {
      const { metric } = placed.find((p) => start >= p.offset && start < p.offset + p.metric.dataPoints.length)!;
      oversize.push({ metric: metric.descriptor.name, bytes: body.length });
    } else {
      const middle = start + Math.ceil((end - start) / 2);
      fit(start, middle);
      fit(middle, end);
    }
  }
  for (let start = 0; start < total; start += limits.maxPoints) {
    fit(start, Math.min(total, start + limits.maxPoints));
  }
  return { requests, oversize };
}
