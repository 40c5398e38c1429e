import { diag } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { MetricProducer } from '@opentelemetry/sdk-metrics';
import type { Request, Response } from 'express';
import { constants, createGzip } from 'node:zlib';
import { shareInFlight } from '../share-in-flight.js';
import { createTextFormatRenderer } from './text-format.js';

/** Prometheus text format 0.0.4; Prometheus 3 refuses a scrape without the version parameter. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface PrometheusExposition {
  /** The reader to give the MeterProvider (the collector's own metrics); its collect() gathers the producers too. */
  readonly exporter: PrometheusExporter;
  handle(req: Request, res: Response): void;
}

/** A page as the slices it was rendered in: joining tens of MB into one buffer would cost a copy. */
interface Body {
  readonly slices: readonly Buffer[];
  readonly length: number;
}

interface Rendering {
  readonly body: Body;
  /** Made on the first scrape that asks for gzip, then kept with the body. */
  gzipped?: Promise<Body>;
  /** Scrapes still sending it or compressing it: its buffers go back to the renderer when none is left. */
  readers: number;
}

function body(slices: readonly Buffer[]): Body {
  return { slices, length: slices.reduce((n, s) => n + s.length, 0) };
}

/**
 * Compressed off the event loop (zlib's thread pool), slice by slice. Level 1: a 100,000-series page
 * (29 MB) shrinks nearly as much as at the default level in a fraction of the time, and the scraper
 * waits for it.
 */
function compress(page: Body): Promise<Body> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const zip = createGzip({ level: constants.Z_BEST_SPEED });
    zip.on('data', (chunk: Buffer) => out.push(chunk));
    zip.on('end', () => resolve(body(out)));
    zip.on('error', reject);
    for (const slice of page.slices) {
      zip.write(slice);
    }
    zip.end();
  });
}

/** Whether Accept-Encoding lets gzip through (present, and not at q=0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) {
    return false;
  }
  for (const part of header.split(',')) {
    const [coding, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== 'x-gzip') {
      continue;
    }
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/**
 * `/metrics` on the collector's own express app: @opentelemetry/exporter-prometheus collects (the
 * collector's own metrics and the producers, under its resource, as target_info), and the page is
 * written by the text-format renderer, which the exporter's serializer is the reference for (its
 * built-in server is never started). Scope labels are left off so the legacy series keep exactly the
 * labels the old server gave them.
 */
export function createPrometheusExposition(producers: MetricProducer[]): PrometheusExposition {
  const exporter = new PrometheusExporter({
    preventServerStart: true,
    withoutScopeInfo: true,
    metricProducers: producers,
  });
  const renderer = createTextFormatRenderer();
  async function render(): Promise<Rendering> {
    const { resourceMetrics, errors } = await exporter.collect();
    if (errors.length) {
      diag.error('PrometheusExporter: metrics collection errors', ...errors);
    }
    return { body: body(await renderer.render(resourceMetrics)), readers: 0 };
  }
  /**
   * The rendering under way: every scrape that arrives while it is made gets it (an HA pair of
   * Prometheus servers, a retry), so they cost one collection and one page, not one each. Not kept once
   * made: a scrape after it must see what arrived since.
   */
  const renderings = shareInFlight(render);

  /** One more reader of the rendering's buffers; the function it returns lets go (call it once). */
  function hold(rendering: Rendering): () => void {
    rendering.readers++;
    return () => {
      if (--rendering.readers === 0) {
        renderer.release(rendering.body.slices);
      }
    };
  }

  /** zlib reads the buffers on its own thread until it is done: it holds them too. */
  function compressHeld(rendering: Rendering): Promise<Body> {
    const letGo = hold(rendering);
    const compressed = compress(rendering.body);
    compressed.then(letGo, letGo);
    return compressed;
  }

  return {
    exporter,
    handle(req, res) {
      const gzipped = acceptsGzip(req.headers['accept-encoding']);
      renderings
        .get()
        .then(async (rendering) => {
          // A scraper that went away while the page was made gets nothing.
          if (res.socket === null || res.socket.destroyed) {
            return;
          }
          // Held before anything can send: every scrape sharing a rendering gets here in the same
          // microtask run, and a response closes no sooner than an I/O turn later.
          res.once('close', hold(rendering));
          const page = gzipped ? await (rendering.gzipped ??= compressHeld(rendering)) : rendering.body;
          res.statusCode = 200;
          res.setHeader('Content-Type', EXPOSITION_CONTENT_TYPE);
          res.setHeader('Vary', 'Accept-Encoding');
          if (gzipped) {
            res.setHeader('Content-Encoding', 'gzip');
          }
          res.setHeader('Content-Length', page.length);
          for (const slice of page.slices) {
            res.write(slice);
          }
          res.end();
        })
        .catch((err: unknown) => {
          // As the exporter answers a failed collection.
          if (res.headersSent) {
            return void res.end();
          }
          res.statusCode = 200;
          res.setHeader('Content-Type', EXPOSITION_CONTENT_TYPE);
          res.end(`# failed to export metrics: ${String(err)}`);
        });
    },
  };
}
