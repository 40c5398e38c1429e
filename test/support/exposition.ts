/**
 * Reading Prometheus text exposition (0.0.4) as a test needs it, plus the checks promtool 2.42 does
 * not make: label names Prometheus would reject and samples it would read as one series.
 */

/** One sample line of exposition text. */
export interface Sample {
  /** 1-based line number in the text. */
  readonly line: number;
  /** The line as written. */
  readonly raw: string;
  readonly name: string;
  /** Label pairs in order of appearance, names exactly as written (valid or not), duplicates kept. */
  readonly pairs: ReadonlyArray<readonly [string, string]>;
  /** The labels by name; of a repeated name, the last value. */
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * A strict reader of the text format: unescapes `\\`, `\"` and `\n` in label values, keeps label
 * names as written (so an invalid one can be seen) and duplicate label names, and throws on a line it
 * cannot read instead of skipping it.
 */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '' || line.startsWith('#')) {
      continue;
    }
    const fail = (why: string): never => {
      throw new Error(`exposition line ${n + 1} ${why}: ${JSON.stringify(line)}`);
    };
    let i = 0;
    while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') {
      i++;
    }
    const name = line.slice(0, i);
    if (name === '') {
      fail('has no metric name');
    }
    const pairs: Array<[string, string]> = [];
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const eq = line.indexOf('=', i);
        if (eq === -1) {
          fail('has a label without "="');
        }
        const labelName = line.slice(i, eq).trim();
        i = eq + 1;
        if (line[i] !== '"') {
          fail('has an unquoted label value');
        }
        i++;
        let value = '';
        for (;;) {
          if (i >= line.length) {
            fail('has an unterminated label value');
          }
          const c = line[i]!;
          if (c === '"') {
            break;
          }
          if (c === '\\') {
            const next = line[i + 1];
            if (next === 'n') {
              value += '\n';
            } else if (next === '\\' || next === '"') {
              value += next;
            } else {
              fail(`has an invalid escape \\${next ?? ''}`);
            }
            i += 2;
            continue;
          }
          value += c;
          i++;
        }
        i++;
        pairs.push([labelName, value]);
        if (line[i] === ',') {
          i++;
        } else if (line[i] !== '}') {
          fail('has garbage after a label value');
        }
      }
      i++;
    }
    const rest = line.slice(i).trim().split(/\s+/);
    if (rest.length < 1 || rest.length > 2 || rest[0] === '') {
      fail('has no value');
    }
    // fromEntries, not assignment: a label named __proto__ must stay a label.
    samples.push({ line: n + 1, raw: line, name, pairs, labels: Object.fromEntries(pairs), value: Number(rest[0]) });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

/** The per-dashboard gauges (inventory, first listed, last opened): not catalog series, never forwarded. */
const DASHBOARD_GAUGES = new Set([
  'footfall_dashboard_info',
  'footfall_dashboard_first_seen_timestamp_seconds',
  'footfall_dashboard_last_opened_timestamp_seconds',
]);

/** A sample of the catalog's series: not the collector's own health, the resource or a dashboard gauge. */
export function isCatalogSample(s: Sample): boolean {
  return !s.name.startsWith('footfall_collector_') && s.name !== 'target_info' && !DASHBOARD_GAUGES.has(s.name);
}

/**
 * The catalog's series (what users query), without the collector's own health and the resource, as
 * `name[labels]` → value with the labels sorted; the labels in `summedOver` are left out and the
 * series that differ only in them summed.
 */
export function catalogSeries(samples: readonly Sample[], summedOver: readonly string[] = []): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (!isCatalogSample(s)) {
      continue;
    }
    const key = `${s.name}${JSON.stringify(
      Object.entries(s.labels)
        .filter(([k]) => !summedOver.includes(k))
        .sort()
    )}`;
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

export async function scrape(
  baseUrl: string
): Promise<{ text: string; samples: Sample[]; contentType: string | null }> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (res.status !== 200) {
    throw new Error(`/metrics answered ${res.status}`);
  }
  const text = await res.text();
  return { text, samples: parseExposition(text), contentType: res.headers.get('content-type') };
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label names in the exposition that Prometheus would reject, with the line each is on. */
export function invalidLabelNames(samples: readonly Sample[]): string[] {
  const bad: string[] = [];
  for (const s of samples) {
    for (const [name] of s.pairs) {
      if (!LABEL_NAME.test(name)) {
        bad.push(`line ${s.line}: ${JSON.stringify(name)} on ${s.name}`);
      }
    }
  }
  return bad;
}

/**
 * The identity Prometheus gives a sample: its name and label set, where a label with an empty value
 * is the same as no label at all (Prometheus drops empty labels on ingestion), so
 * `m{a=""}` and `m` are one series.
 */
function seriesIdentity(sample: Sample): string {
  const pairs = sample.pairs.filter(([, v]) => v !== '').map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`);
  return `${sample.name}{${pairs.sort().join(',')}}`;
}

/**
 * Samples that share name and label set with an earlier sample, or repeat a label name: Prometheus
 * keeps one of such a pair and drops the other (counted in
 * prometheus_target_scrapes_sample_duplicate_timestamp_total), so a sum over them comes out short.
 */
export function duplicateSeries(samples: readonly Sample[]): string[] {
  const seen = new Map<string, Sample>();
  const dups: string[] = [];
  for (const s of samples) {
    const names = s.pairs.map(([k]) => k);
    if (new Set(names).size !== names.length) {
      dups.push(`repeated label name on line ${s.line}: ${s.raw}`);
    }
    const id = seriesIdentity(s);
    const first = seen.get(id);
    if (first === undefined) {
      seen.set(id, s);
    } else {
      dups.push(`series ${id} twice: line ${first.line}: ${first.raw} | line ${s.line}: ${s.raw}`);
    }
  }
  return dups;
}
