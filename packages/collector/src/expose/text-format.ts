import type { Attributes } from '@opentelemetry/api';
import {
  DataPointType,
  type DataPoint,
  type Histogram,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * The Prometheus text format of a collection, exactly as @opentelemetry/exporter-prometheus's
 * PrometheusSerializer writes it for this collector (no prefix, no timestamps, no resource labels on
 * the series, target_info kept, scope labels left off), so that the exporter stays the reference:
 * text-format.test.ts checks the two byte for byte over generated collections with hostile values.
 *
 * Written here rather than taken from the exporter because the exporter builds the whole page in one
 * synchronous call that escapes every label again on every scrape: 400–800 ms for 100,000 series,
 * during which no OTLP request is answered. This one keeps each series' label text (the SDK hands back
 * the same attributes object for a series on every collection) and yields to the event loop every
 * SLICE_POINTS points.
 */
export interface TextFormatRenderer {
  /** The page, as the buffers it was written in (UTF-8, about a MiB each). */
  render(resourceMetrics: ResourceMetrics): Promise<Buffer[]>;
  /**
   * Gives a page's buffers back for the next rendering to write into, once nothing reads them any
   * more (every response sent, the compression done). Optional: a page never released is collected.
   */
  release(slices: readonly Buffer[]): void;
}

/** Points rendered per event-loop turn: a few ms of work at most. */
export const SLICE_POINTS = 4000;

type PrometheusType = 'counter' | 'gauge' | 'histogram' | 'untyped';

interface Family {
  /** Undefined once two metrics of the name disagree on the type: the exporter drops the family. */
  metadata: { help: string; unit: string; type: PrometheusType } | undefined;
  metrics: MetricData[];
}

const NO_REGISTERED_METRICS = '# no registered metrics';

function escapeString(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabelValue(value: unknown = ''): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  // Most values need nothing: one test instead of three replaces.
  return NEEDS_ESCAPE.test(text) ? escapeString(text).replace(/"/g, '\\"') : text;
}

function sanitizeName(name: string): string {
  return name.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
}

function valueText(value: number): string {
  if (value === Infinity) {
    return '+Inf';
  }
  if (value === -Infinity) {
    return '-Inf';
  }
  return `${value}`;
}

function prometheusType(metric: MetricData): PrometheusType {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      return metric.isMonotonic ? 'counter' : 'gauge';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    default:
      return 'untyped';
  }
}

/** The family name the exporter gives a metric, or undefined for a name it refuses. */
function familyName(metric: MetricData): string | undefined {
  let name = sanitizeName(escapeString(metric.descriptor.name));
  if (name === '' || name === '_') {
    return undefined;
  }
  if (name[0]! >= '0' && name[0]! <= '9') {
    name = `_${name}`;
  }
  if (!name.endsWith('_total') && metric.dataPointType === DataPointType.SUM && metric.isMonotonic) {
    name += '_total';
  }
  return name;
}

/** Families in the exporter's order, with its rules for conflicting TYPE, HELP and UNIT. */
function families(resourceMetrics: ResourceMetrics): Map<string, Family> {
  const out = new Map<string, Family>([
    ['target_info', { metadata: { help: 'Target metadata', unit: '', type: 'gauge' }, metrics: [] }],
  ]);
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      const name = familyName(metric);
      if (name === undefined) {
        continue;
      }
      const type = prometheusType(metric);
      const family = out.get(name);
      if (family === undefined) {
        out.set(name, {
          metadata: { help: metric.descriptor.description, unit: metric.descriptor.unit, type },
          metrics: [metric],
        });
      } else if (family.metadata !== undefined) {
        if (family.metadata.type === type) {
          family.metrics.push(metric);
        } else {
          family.metadata = undefined;
          family.metrics = [];
        }
      }
    }
  }
  for (const family of out.values()) {
    if (family.metadata === undefined) {
      continue;
    }
    for (const { descriptor } of family.metrics) {
      if (descriptor.description && !family.metadata.help) {
        family.metadata.help = descriptor.description;
      }
      if (descriptor.unit && !family.metadata.unit) {
        family.metadata.unit = descriptor.unit;
      }
    }
  }
  return out;
}

function header(name: string, metadata: NonNullable<Family['metadata']>): string {
  const unit = metadata.unit ? `\n# UNIT ${name} ${escapeString(metadata.unit)}` : '';
  return `# HELP ${name} ${escapeString(metadata.help || 'description missing')}${unit}\n# TYPE ${name} ${metadata.type}\n`;
}

/** Bytes per slice buffer: the page is written straight into these, never built as one string. */
const SLICE_BYTES = 1 << 20;

/**
 * Slice buffers given back by earlier renderings. Memory fresh from the system costs a page fault per
 * 4 KiB on its first write: at 100,000 series that was 80 % of the time spent writing a page (100 ms
 * against 17 ms into buffers written before). So the buffers of the last page are kept, and no more.
 */
class SlicePool {
  private readonly free: Buffer[] = [];
  /** The most buffers one rendering took lately: what is worth keeping. */
  private wanted = 0;

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(SLICE_BYTES);
  }

  /** A rendering took `count` buffers. */
  used(count: number): void {
    this.wanted = count;
    if (this.free.length > count) {
      this.free.length = count;
    }
  }

  give(slices: readonly Buffer[]): void {
    for (const slice of slices) {
      // Only whole pool buffers (an oversized line's buffer is left to the collector).
      if (this.free.length >= this.wanted || slice.byteOffset !== 0 || slice.buffer.byteLength !== SLICE_BYTES) {
        continue;
      }
      this.free.push(Buffer.from(slice.buffer, 0, SLICE_BYTES));
    }
  }
}

/**
 * Appends text to a list of buffers. Writing each piece into a buffer costs a copy; concatenating the
 * pieces into one string first cost 6× as much (measured: 300–440 ms against 53 ms for 200,000 lines),
 * because V8 has to flatten the rope before encoding it.
 */
class SliceWriter {
  readonly slices: Buffer[] = [];
  private buffer: Buffer | undefined;
  private used = 0;

  constructor(private readonly pool: SlicePool) {}

  /** The buffer, with room for `length` UTF-16 units (at most 3 bytes each). */
  private room(length: number): Buffer {
    if (this.buffer === undefined || this.used + length * 3 > this.buffer.length) {
      this.end();
      this.buffer = length * 3 <= SLICE_BYTES ? this.pool.take() : Buffer.allocUnsafe(length * 3);
    }
    return this.buffer;
  }

  write(text: string): void {
    this.used += this.room(text.length).write(text, this.used);
  }

  /**
   * A sample: its prefix, then its value and the line's end. A whole number (counters nearly always
   * are) is written digit by digit, as `${value}` would print it, so a scrape makes no string per line.
   */
  sample(prefix: string, value: number): void {
    if (!(Number.isSafeInteger(value) && value >= 0)) {
      return this.write2(prefix, `${valueText(value)}\n`);
    }
    const buffer = this.room(prefix.length + 17);
    this.used += buffer.write(prefix, this.used);
    let end = this.used;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) {
      end++;
    }
    for (let at = end, rest = value; at >= this.used; at--, rest = Math.floor(rest / 10)) {
      buffer[at] = 48 + (rest % 10);
    }
    buffer[end + 1] = 10;
    this.used = end + 2;
  }

  /** Two pieces, with no string made of them. */
  write2(a: string, b: string): void {
    const buffer = this.room(a.length + b.length);
    this.used += buffer.write(a, this.used);
    this.used += buffer.write(b, this.used);
  }

  /** Closes the current slice; the next write starts a new one. */
  end(): void {
    if (this.buffer !== undefined && this.used > 0) {
      this.slices.push(this.buffer.subarray(0, this.used));
    }
    this.buffer = undefined;
    this.used = 0;
  }
}

/**
 * A series' text kept by its attributes object (the SDK hands back the same one for a series on every
 * collection). A Map, not a WeakMap: with 100,000 entries a WeakMap made lookups and every garbage
 * collection markedly slower. So entries for series gone from the collections are dropped by hand:
 * once the cache holds more than twice the entries the last rendering used, the next rendering keeps
 * only what it uses.
 */
class SeriesTextCache {
  private entries = new Map<Attributes, string>();
  private next: Map<Attributes, string> | undefined;
  private used = 0;

  get(attributes: Attributes): string | undefined {
    this.used++;
    if (this.next === undefined) {
      return this.entries.get(attributes);
    }
    let text = this.next.get(attributes);
    if (text === undefined) {
      text = this.entries.get(attributes);
      if (text !== undefined) {
        this.next.set(attributes, text);
      }
    }
    return text;
  }

  set(attributes: Attributes, text: string): void {
    (this.next ?? this.entries).set(attributes, text);
  }

  /** Called after each rendering; true once the cache holds nothing and the rendering used nothing. */
  rendered(): boolean {
    const unused = this.used === 0;
    if (this.next !== undefined) {
      this.entries = this.next;
      this.next = undefined;
    } else if (this.entries.size > 2 * this.used + 1024) {
      this.next = new Map();
    }
    this.used = 0;
    return unused && this.entries.size === 0;
  }
}

export function createTextFormatRenderer(): TextFormatRenderer {
  const pool = new SlicePool();
  /** A histogram series' label text (`a="x",b="y"`, without braces). */
  const labelTexts = new SeriesTextCache();
  /**
   * Each number series' sample prefix (`name{a="x"} `), per family: one attributes object may stand
   * for a series of several families (the overflow series, a dashboard's uid).
   */
  const prefixes = new Map<string, SeriesTextCache>();

  function labelText(attributes: Attributes): string {
    let text = '';
    for (const [key, value] of Object.entries(attributes)) {
      text += `${text.length > 0 ? ',' : ''}${sanitizeName(key)}="${escapeLabelValue(value)}"`;
    }
    return text;
  }

  /** Label text kept for histogram series, each of which writes it on a dozen lines. */
  function labels(attributes: Attributes): string {
    let text = labelTexts.get(attributes);
    if (text === undefined) {
      text = labelText(attributes);
      labelTexts.set(attributes, text);
    }
    return text;
  }

  /** `name{labels} `, or `name ` without labels. */
  function prefix(cache: SeriesTextCache, name: string, attributes: Attributes): string {
    let text = cache.get(attributes);
    if (text === undefined) {
      // Not through labels(): a number series needs only its prefix, so its label text is not kept twice.
      const inner = labelText(attributes);
      text = inner === '' ? `${name} ` : `${name}{${inner}} `;
      cache.set(attributes, text);
    }
    return text;
  }

  function sample(out: SliceWriter, name: string, labelText: string, value: number): void {
    out.write2(labelText === '' ? `${name} ` : `${name}{${labelText}} `, `${valueText(value)}\n`);
  }

  function histogramLines(out: SliceWriter, name: string, point: DataPoint<Histogram>): void {
    const labelText = labels(point.attributes);
    const { count, sum, buckets } = point.value;
    // Checked like the exporter checks them, though the SDK always gives a count.
    if (count != null) {
      sample(out, `${name}_count`, labelText, count);
    }
    if (sum != null) {
      sample(out, `${name}_sum`, labelText, sum);
    }
    const bucketPrefix = labelText === '' ? `${name}_bucket{le="` : `${name}_bucket{${labelText},le="`;
    let cumulative = 0;
    let infinityGiven = false;
    for (let i = 0; i < buckets.counts.length; i++) {
      cumulative += buckets.counts[i]!;
      const upper = buckets.boundaries[i];
      if (upper === undefined && infinityGiven) {
        break;
      }
      if (upper === Infinity) {
        infinityGiven = true;
      }
      const le = upper === undefined || upper === Infinity ? '+Inf' : escapeLabelValue(String(upper));
      out.write2(bucketPrefix, `${le}"} ${valueText(cumulative)}\n`);
    }
  }

  return {
    async render(resourceMetrics) {
      const out = new SliceWriter(pool);
      let points = 0;
      let wroteSeries = false;

      for (const [name, family] of families(resourceMetrics)) {
        if (family.metadata === undefined) {
          continue;
        }
        let writeHeader = true;
        if (name === 'target_info') {
          out.write(header(name, family.metadata));
          sample(out, name, labels(resourceMetrics.resource.attributes), 1);
          writeHeader = false;
        }
        for (const metric of family.metrics) {
          // The exporter writes a metric's header only with it, and a metric without points only as its header.
          if (writeHeader) {
            out.write(header(name, family.metadata));
            writeHeader = false;
            wroteSeries = true;
          }
          if (metric.dataPointType === DataPointType.HISTOGRAM) {
            for (const point of metric.dataPoints) {
              histogramLines(out, name, point);
              wroteSeries = true;
              // Checked here, not in a function: an await per point would cost more than the point.
              if (++points === SLICE_POINTS) {
                points = 0;
                await nextTurn();
              }
            }
          } else if (metric.dataPointType === DataPointType.SUM || metric.dataPointType === DataPointType.GAUGE) {
            let cache = prefixes.get(name);
            if (cache === undefined) {
              prefixes.set(name, (cache = new SeriesTextCache()));
            }
            for (const point of metric.dataPoints as Array<DataPoint<number>>) {
              out.sample(prefix(cache, name, point.attributes), point.value);
              wroteSeries = true;
              if (++points === SLICE_POINTS) {
                points = 0;
                await nextTurn();
              }
            }
          }
        }
      }
      if (!wroteSeries) {
        out.write(NO_REGISTERED_METRICS);
      }
      out.end();
      pool.used(out.slices.length);
      labelTexts.rendered();
      for (const [name, cache] of prefixes) {
        if (cache.rendered()) {
          prefixes.delete(name);
        }
      }
      return out.slices;
    },

    release(slices) {
      pool.give(slices);
    },
  };
}
