import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { MetricProducer } from '@opentelemetry/sdk-metrics';
import type { Request, Response } from 'express';

/** Prometheus text format 0.0.4; Prometheus 3 refuses a scrape without the version parameter. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface PrometheusExposition {
  /** The reader to give the MeterProvider. */
  readonly exporter: PrometheusExporter;
  handle(req: Request, res: Response): void;
}

/**
 * `/metrics`, served by @opentelemetry/exporter-prometheus on the collector's own express app (its
 * built-in server is never started). Scope labels are left off so the legacy series keep exactly the
 * labels the old server gave them.
 */
export function createPrometheusExposition(producers: MetricProducer[]): PrometheusExposition {
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, metricProducers: producers });
  return {
    exporter,
    handle(req, res) {
      exporter.getMetricsRequestHandler(req, res);
      // The exporter answers asynchronously with a bare `text/plain`; headers are not sent yet.
      res.setHeader('Content-Type', EXPOSITION_CONTENT_TYPE);
    },
  };
}
