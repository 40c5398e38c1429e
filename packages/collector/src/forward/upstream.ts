import { ExportResultCode } from '@opentelemetry/core';
import { CompressionAlgorithm, OTLPExporterError } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import {
  ProtobufMetricsSerializer,
  type IExportMetricsServiceResponse,
  type ISerializer,
} from '@opentelemetry/otlp-transformer';
import { caBundle } from '../tls.js';
import type { ForwardRequest } from './split-requests.js';

export interface UpstreamSettings {
  /** The upstream's OTLP/HTTP metrics URL. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: 'gzip' | 'none';
  /** Per request, the transport's retries included. */
  readonly timeoutMs: number;
  readonly tls: { readonly caFile?: string | undefined; readonly insecureSkipVerify: boolean };
}

/** What became of one request. */
export type UpstreamAnswer =
  | {
      readonly delivered: true;
      /** Points the upstream refused (partial success), and why in its words. */
      readonly rejected: number;
      readonly message: string;
    }
  | {
      readonly delivered: false;
      /** False when the upstream answered that it will never take this request (4xx: bad data, auth, too large). */
      readonly retryable: boolean;
      readonly status: number | undefined;
      readonly error: string;
    };

export interface Upstream {
  /** Sends one request; never rejects. One at a time (a second one at once throws): the forward stage sends in order. */
  send(request: ForwardRequest): Promise<UpstreamAnswer>;
  shutdown(): Promise<void>;
}

/**
 * The upstream as the OTel SDK's OTLP/HTTP machinery reaches it: its transport retries 429/502/503/504
 * and network errors with back-off and honours Retry-After within the timeout, compresses, and caps
 * the answer's size. What the SDK's exporter does not do is say that an upstream refused points: it
 * logs a partial success and reports success. So the request goes through the SDK's export delegate
 * with a serializer of its own, which hands the body over as it is (it was serialized to measure it)
 * and reads the partial success out of the answer.
 */
export function createUpstream(settings: UpstreamSettings): Upstream {
  let response: IExportMetricsServiceResponse | undefined;
  let busy = false;
  const serializer: ISerializer<ForwardRequest, IExportMetricsServiceResponse> = {
    serializeRequest: (request) => request.body,
    deserializeResponse(data) {
      response = ProtobufMetricsSerializer.deserializeResponse(data);
      // Read here; the delegate would only log it.
      return {};
    },
  };
  const ca = caBundle(settings.tls.caFile, 'forward.tls.caFile');
  const delegate = createOtlpHttpExportDelegate(
    convertLegacyHttpOptions(
      {
        url: settings.url,
        headers: { ...settings.headers },
        compression: settings.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
        timeoutMillis: settings.timeoutMs,
        httpAgentOptions: { keepAlive: true, ca, rejectUnauthorized: !settings.tls.insecureSkipVerify },
      },
      'METRICS',
      'v1/metrics',
      { 'Content-Type': 'application/x-protobuf' }
    ),
    serializer,
    'otlp_http_metric_exporter',
    { name: 'metric_data_point', countItems: (request) => request.points },
    undefined
  );

  return {
    send(request) {
      // The answer is read through one slot: a second request at once would take the first one's.
      if (busy) {
        throw new Error('one request to the upstream at a time');
      }
      busy = true;
      response = undefined;
      return new Promise((resolve) => {
        delegate.export(request, (result) => {
          busy = false;
          if (result.code === ExportResultCode.SUCCESS) {
            const partial = response?.partialSuccess;
            resolve({
              delivered: true,
              rejected: Number(partial?.rejectedDataPoints ?? 0),
              message: partial?.errorMessage ?? '',
            });
            return;
          }
          const status = result.error instanceof OTLPExporterError ? result.error.code : undefined;
          // 408 and 429 ask to come back later; other 4xx say this request will never be taken.
          const permanent = status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
          resolve({ delivered: false, retryable: !permanent, status, error: result.error?.message || 'export failed' });
        });
      });
    },
    shutdown: () => delegate.shutdown(),
  };
}
