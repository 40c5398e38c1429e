import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { labelName } from '../limits/index.ts';
import { DEFAULT_LEGACY_LABELS, LEGACY_LABELS, METRIC_CATALOG, readAttributes } from './catalog.ts';

const DOC = readFileSync(new URL('../../../../docs/metrics.md', import.meta.url), 'utf8');
/** The document with its table cells unpadded (prettier pads them to the column's width): `| a | b |`. */
const UNPADDED = DOC.replace(/ *\| */g, ' | ').replace(/^ | $/gm, '');

/** Rows of the markdown table whose first cell is a backticked OTel instrument name. */
function rows(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of DOC.split('\n')) {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells.length === 6 && /^`grafana\.dashboard\./.test(cells[0]!)) {
      out.set(cells[0]!.replaceAll('`', ''), cells);
    }
  }
  return out;
}

const list = (cell: string) =>
  cell
    .replace(/\(.*\)/, '')
    .split(',')
    .map((s) => s.trim().replaceAll('`', ''))
    .filter(Boolean);

describe('metric catalog', () => {
  it('is described row for row in docs/metrics.md', () => {
    const doc = rows();
    expect([...doc.keys()].sort()).toEqual(METRIC_CATALOG.map((m) => m.name).sort());
    for (const metric of METRIC_CATALOG) {
      const [, kind, unit, attributes, prometheus, bound] = doc.get(metric.name)!;
      expect({ kind, unit, attributes: list(attributes!), prometheus, bound }).toEqual({
        kind: metric.kind,
        unit: `\`${metric.unit}\``,
        attributes: [...metric.attributes],
        prometheus: `\`${metric.prometheus}\``,
        bound: `${metric.increment.perPoint} + ${metric.increment.perSecond}/s`,
      });
      if (metric.buckets) {
        expect(UNPADDED).toContain(`| \`${metric.name}\` | ${metric.buckets.join(', ')} |`);
      }
      for (const derived of metric.derived ?? []) {
        expect(UNPADDED).toContain(`| \`${derived.prometheus}\` | \`${metric.name}\``);
      }
    }
  });

  it("keeps the old server's series names and labels", () => {
    const legacyLabels = [
      'dashboard_uid',
      'dashboard_name',
      'dashboard_timezone',
      'grafana_host',
      'grafana_env',
      'user_role',
      'user_theme',
      'user_timezone',
      'user_locale',
      'user_login',
      'user_name',
    ];
    expect(LEGACY_LABELS.map((a) => labelName(a))).toEqual(legacyLabels);
    const sessions = METRIC_CATALOG.find((m) => m.prometheus === 'grafana_analytics_sessions_total')!;
    expect(sessions.legacyAttributes).toEqual(LEGACY_LABELS);
    const duration = METRIC_CATALOG.flatMap((m) => m.derived ?? []).find(
      (d) => d.prometheus === 'grafana_analytics_sessions_duration_seconds_total'
    )!;
    expect(duration.legacy).toBe(true);
    expect(duration.attributes).toEqual(LEGACY_LABELS);
    // What the old example dashboards group by (dashboard_name, user_name) is filled by default.
    expect(DEFAULT_LEGACY_LABELS).toEqual(expect.arrayContaining(['dashboard.name', 'user.name']));
  });

  it('asks senders for every attribute any of its series reads', () => {
    const sessions = METRIC_CATALOG.find((m) => m.name === 'grafana.dashboard.sessions')!;
    expect(readAttributes(sessions)).toEqual(
      expect.arrayContaining(['dashboard.folder', 'user.theme', 'user.timezone', 'user.locale', 'dashboard.timezone'])
    );
  });

  it('follows Prometheus naming: counters end in _total, histograms do not, units are in the name', () => {
    for (const metric of METRIC_CATALOG) {
      expect(metric.prometheus).toMatch(/^[a-z_][a-z0-9_]*$/);
      if (metric.kind === 'counter') {
        expect(metric.prometheus).toMatch(/_total$/);
      } else {
        expect(metric.prometheus).not.toMatch(/_total$/);
      }
      if (metric.unit === 's') {
        expect(metric.prometheus).toMatch(/_seconds(_total)?$/);
      }
      expect(new Set(metric.attributes).size).toBe(metric.attributes.length);
      if (metric.buckets) {
        expect([...metric.buckets].sort((a, b) => a - b)).toEqual(metric.buckets);
      }
    }
  });
});
