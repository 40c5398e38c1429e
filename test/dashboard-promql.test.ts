/**
 * The provisioned Grafana-ception dashboard against real data: its JSON type-checks as @grafana/schema's
 * Dashboard, and every PromQL expression in it (and every recording rule in provisioning/rules) returns
 * data from a real Prometheus that scraped the built collector after real OTel SDK browsers sent a
 * workload covering every series the dashboard reads, the collector's refusals, overflow and auth
 * failures included. The dashboards sit in folders and in the General folder (no folder label: the
 * attribute sent absent or empty), and the folder breakdowns are checked against the totals a user
 * compares them with.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dashboard } from '@grafana/schema';
import ts from 'typescript';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportTo, spawnWithConfig, type ConfiguredCollector } from './support/auth-config.ts';
import { createBrowser, type SimulatedBrowser } from './support/browsers.ts';
import { startGrafanaApiStandIn, type GrafanaApiStandIn } from './support/grafana-api-stand-in.ts';
import { pollUntil } from './support/prometheus.ts';
import { startPrometheusWithRules, type RulesPrometheus } from './support/prometheus-rules.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DASHBOARD_FILE = join(ROOT, 'provisioning/dashboards/footfall/grafana-ception.json');
const RULES_FILE = join(ROOT, 'provisioning/rules/footfall-recording-rules.yaml');
const dashboardText = readFileSync(DASHBOARD_FILE, 'utf8');
// The runtime checks read the JSON through the schema's type; the compile-time check is below.
const dashboard = JSON.parse(dashboardText) as Dashboard;

const JOB = 'footfall';
const TOKEN = `dashboard-test-${randomBytes(12).toString('hex')}`;
const GRAFANA = { 'grafana.host': 'grafana.example.com', 'grafana.env': 'prod' };
/** Concrete values for the dashboard's variables: the filters must select the workload's series. */
const VARIABLES: Record<string, string> = {
  grafana_host: 'grafana.example.com',
  env: 'prod',
  folder: '.*',
  dashboard: '.*',
  job: JOB,
  heartbeat_interval: '60',
  // Every dashboard opened in the workload was opened more than 0 days ago.
  unused_days: '0',
};
const ALPHA = {
  'dashboard.uid': 'd-alpha',
  'dashboard.name': 'Alpha',
  'dashboard.timezone': 'utc',
  'dashboard.folder': 'Ops',
};
/** In the General folder: no folder attribute at all. */
const BETA = { 'dashboard.uid': 'd-beta', 'dashboard.name': 'Beta', 'dashboard.timezone': 'browser' };
const GAMMA = {
  'dashboard.uid': 'd-gamma',
  'dashboard.name': 'Gamma',
  'dashboard.timezone': 'utc',
  'dashboard.folder': 'Sales',
};
/** In the General folder too, sent as an empty folder title. */
const DELTA = {
  'dashboard.uid': 'd-delta',
  'dashboard.name': 'Delta',
  'dashboard.timezone': 'utc',
  'dashboard.folder': '',
};
/** Opened in the first phase only: the "no sessions in the range" panel must list it. */
const STALE = {
  'dashboard.uid': 'd-stale',
  'dashboard.name': 'Stale',
  'dashboard.timezone': 'browser',
  'dashboard.folder': 'Sales',
};
/** Listed by Grafana, never opened: the Unused dashboards row's. */
const NEVER_OPENED = { 'dashboard.uid': 'd-never', 'dashboard.name': 'Never opened', 'dashboard.folder': 'Ops' };
/** Small enough that the variable values below overflow footfall_dashboard_variable_selections_total. */
const MAX_SERIES = 20;

interface Target {
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

type Panel = NonNullable<Dashboard['panels']>[number];

function allPanels(): Panel[] {
  const out: Panel[] = [];
  for (const p of dashboard.panels ?? []) {
    out.push(p);
    if (p.type === 'row' && 'panels' in p) {
      out.push(...(p.panels as Panel[]));
    }
  }
  return out;
}

function targets(): Target[] {
  return allPanels().flatMap((p) =>
    ('targets' in p ? (p.targets ?? []) : []).map((t) => ({
      panel: `#${p.id} "${p.title}"`,
      refId: String(t.refId),
      expr: String((t as { expr?: unknown }).expr ?? ''),
    }))
  );
}

/** The expression as Grafana would send it, with `range` for $__range. */
function substitute(expr: string, rangeSeconds: number, variables: Record<string, string> = VARIABLES): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', `${rangeSeconds}s`)
    .replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
      const name = braced ?? bare!;
      const value = variables[name];
      if (value === undefined) {
        throw new Error(`no test value for the variable ${whole} in ${expr}`);
      }
      return value;
    });
}

/** A query variable's `label_values(selector, label)`, split. */
function labelValuesQuery(v: NonNullable<NonNullable<Dashboard['templating']>['list']>[number]): {
  selector: string;
  label: string;
} {
  const definition = typeof v.query === 'string' ? v.query : String((v.query as { query?: unknown }).query);
  const m = /^label_values\((.+),\s*(\w+)\)$/.exec(definition);
  if (!m) {
    throw new Error(`variable ${v.name}: not a label_values query: ${definition}`);
  }
  return { selector: m[1]!, label: m[2]! };
}

describe('Grafana-ception dashboard JSON', () => {
  it('type-checks as @grafana/schema Dashboard (the JSON literal, with `satisfies`)', () => {
    // Vitest strips types without checking them, so the check runs the TypeScript compiler on a virtual
    // module holding the JSON as a literal: string values keep their literal types ('timeseries',
    // 'query'), which is what `satisfies Dashboard` must accept.
    const file = join(ROOT, 'test/__grafana-ception-typecheck__.ts');
    const source = `import type { Dashboard } from '@grafana/schema';\nexport const dashboard = ${dashboardText.trim()} satisfies Dashboard;\n`;
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: [],
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, version, ...rest) =>
      name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => name === file || fileExists(name);
    const program = ts.createProgram([file], options, host);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file?.fileName === file || d.file === undefined)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  });

  it('has a uid, a title, unique panel ids and grid positions inside the 24-column grid, without overlaps', () => {
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    const panels = allPanels();
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size, `panel ids ${ids.join(',')}`).toBe(ids.length);
    const cells = new Map<string, string>();
    for (const p of panels) {
      const g = p.gridPos;
      expect(g, `panel ${p.id} gridPos`).toBeDefined();
      expect(
        g!.w > 0 && g!.h > 0 && g!.x >= 0 && g!.y >= 0 && g!.x + g!.w <= 24,
        `panel ${p.id} gridPos ${JSON.stringify(g)}`
      ).toBe(true);
      for (let x = g!.x; x < g!.x + g!.w; x++) {
        for (let y = g!.y; y < g!.y + g!.h; y++) {
          const taken = cells.get(`${x},${y}`);
          expect(taken, `panel ${p.id} overlaps panel ${taken} at ${x},${y}`).toBeUndefined();
          cells.set(`${x},${y}`, String(p.id));
        }
      }
    }
  });

  it('queries through the ${datasource} variable: every panel and target has it, every target an expr and a unique refId', () => {
    const variable = dashboard.templating?.list?.find((v) => v.name === 'datasource');
    expect(variable).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const kinds = new Set<string>();
    for (const p of allPanels()) {
      if (p.type === 'row') {
        continue;
      }
      kinds.add(p.type);
      expect(p.datasource, `panel ${p.id}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
      const panelTargets = 'targets' in p ? (p.targets ?? []) : [];
      expect(panelTargets.length, `panel ${p.id} "${p.title}" has no targets`).toBeGreaterThan(0);
      const refIds = panelTargets.map((t) => t.refId);
      expect(new Set(refIds).size, `panel ${p.id} refIds ${refIds.join(',')}`).toBe(refIds.length);
      for (const t of panelTargets) {
        expect(t.refId, `panel ${p.id}`).toBeTruthy();
        expect(t.datasource, `panel ${p.id} target ${t.refId}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(typeof (t as { expr?: unknown }).expr, `panel ${p.id} target ${t.refId}`).toBe('string');
      }
    }
    expect([...kinds].sort()).toEqual(['barchart', 'piechart', 'stat', 'table', 'timeseries']);
    // Every variable an expression uses is defined (or a Grafana built-in).
    const defined = new Set((dashboard.templating?.list ?? []).map((v) => v.name));
    for (const t of targets()) {
      for (const m of t.expr.matchAll(/\$\{?(\w+)\}?/g)) {
        if (!m[1]!.startsWith('__')) {
          expect(defined.has(m[1]!), `${t.panel} ${t.refId} uses undefined $${m[1]}`).toBe(true);
        }
      }
    }
  });
});

describe('every PromQL expression of the dashboard and every recording rule, against Prometheus', () => {
  let collector: ConfiguredCollector | undefined;
  let prometheus: RulesPrometheus | undefined;
  let grafana: GrafanaApiStandIn | undefined;
  /** When Prometheus had scraped the first phase: $__range starts after it. */
  let phaseOneSeen = 0;

  const rulesText = readFileSync(RULES_FILE, 'utf8');
  const rules = parse(rulesText) as {
    groups: Array<{ name: string; interval?: string; rules: Array<{ record?: string; expr: string }> }>;
  };

  async function sendPhase(phase: 1 | 2): Promise<void> {
    // The exporter takes its headers from the environment at construction (OTEL_EXPORTER_OTLP_*_HEADERS,
    // URL-encoded), which createBrowser does not otherwise let us set.
    process.env.OTEL_EXPORTER_OTLP_METRICS_HEADERS = `authorization=Bearer%20${TOKEN}`;
    const user = (role: string, theme: string, timezone: string, locale: string) => ({
      ...GRAFANA,
      'user.role': role,
      'user.theme': theme,
      'user.timezone': timezone,
      'user.locale': locale,
    });
    let browsers: SimulatedBrowser[];
    try {
      browsers = [
        createBrowser({
          url: collector!.url,
          protocol: 'json',
          resource: user('Viewer', 'dark', 'Europe/Berlin', 'de-DE'),
        }),
        createBrowser({
          url: collector!.url,
          protocol: 'protobuf',
          resource: user('Editor', 'light', 'America/New_York', 'en-US'),
        }),
        // Cumulative temporality: the collector refuses these points (reason not_delta).
        createBrowser({
          url: collector!.url,
          protocol: 'json',
          temporality: 'cumulative',
          resource: user('Admin', 'dark', 'UTC', 'en-GB'),
        }),
      ];
    } finally {
      delete process.env.OTEL_EXPORTER_OTLP_METRICS_HEADERS;
    }
    const [a, b, c] = browsers;
    try {
      for (const [browser, board] of [
        [a!, ALPHA],
        [b!, BETA],
        [a!, BETA],
        [b!, GAMMA],
        [a!, DELTA],
      ] as const) {
        browser.sessions.add(1, board);
        browser.engagedTime.add(30, { ...board, 'engagement.state': 'focused' });
        browser.engagedTime.add(12, { ...board, 'engagement.state': 'visible' });
        browser.engagedTime.add(90, { ...board, 'engagement.state': 'hidden' });
        browser.heartbeats.add(5, board);
        browser.sessionDuration.record(phase === 1 ? 45 : 420, board);
        browser.variableSelections.add(2, { ...board, 'variable.name': 'cluster', 'variable.value': 'eu-west' });
        browser.timeRangeSelections.add(1, { ...board, time_range: 'now-6h' });
        browser.timeRangeSelections.add(1, { ...board, time_range: 'absolute' });
        browser.queries.add(20, { ...board, 'datasource.type': 'prometheus' });
        browser.queries.add(4, { ...board, 'datasource.type': 'loki' });
        browser.queryErrors.add(2, { ...board, 'datasource.type': 'loki' });
        browser.queryDuration.record(0.2, { ...board, 'datasource.type': 'prometheus' });
        browser.queryDuration.record(3.5, { ...board, 'datasource.type': 'loki' });
      }
      if (phase === 1) {
        a!.sessions.add(1, STALE);
        a!.heartbeats.add(1, STALE);
      }
      // More distinct values than the series cap: the rest is folded into the overflow series.
      for (let i = 0; i < MAX_SERIES + 5; i++) {
        b!.variableSelections.add(1, { ...ALPHA, 'variable.name': 'pod', 'variable.value': `pod-${phase}-${i}` });
      }
      c!.sessions.add(1, ALPHA);
      await Promise.all(browsers.map((x) => x.flush()));
    } finally {
      await Promise.all(browsers.map((x) => x.shutdown()));
    }
    // And one export without the token: 401, footfall_collector_auth_total{mode="bearer",outcome="no_token"}.
    const refused = await exportTo(collector!.url, { uid: 'd-no-token' });
    expect(refused.status).toBe(401);
  }

  async function total(expr: string): Promise<number> {
    const answer = await prometheus!.query(expr);
    return answer.result.reduce((t, s) => t + Number(s.value), 0);
  }

  beforeAll(async () => {
    // Grafana's inventory: the workload's dashboards with the names and folders the browsers send, and
    // one nobody opens.
    grafana = await startGrafanaApiStandIn();
    grafana.tokens.set(TOKEN, 1);
    for (const board of [ALPHA, BETA, GAMMA, DELTA, STALE, NEVER_OPENED]) {
      const folder = (board as Record<string, string>)['dashboard.folder'];
      grafana.addDashboard(
        board['dashboard.uid'],
        board['dashboard.name'],
        folder ? { folderUid: `f-${folder}`, folderTitle: folder } : {}
      );
    }
    collector = await spawnWithConfig(
      { limits: { maxSeriesPerMetric: MAX_SERIES }, inventory: { grafanaUrl: grafana.url } },
      { env: { FOOTFALL_AUTH_MODE: 'bearer', FOOTFALL_BEARER_TOKENS: TOKEN, FOOTFALL_INVENTORY_TOKEN: TOKEN } }
    );
    // The shipped groups evaluate every 60 s; the copy evaluates every second, same expressions.
    const fast = { groups: rules.groups.map((g) => ({ ...g, interval: '1s' })) };
    prometheus = await startPrometheusWithRules({
      job: JOB,
      targets: [new URL(collector.url).host],
      rules: [stringify(fast)],
    });

    // Listed before the first export, which would otherwise wait for the listing (503).
    await pollUntil(
      () => total('footfall_dashboard_info'),
      (v) => v === 6,
      20_000
    );
    await sendPhase(1);
    await pollUntil(
      () => total(`grafana_analytics_sessions_total{dashboard_uid="d-stale"}`),
      (v) => v === 1,
      20_000
    );
    phaseOneSeen = Math.ceil(Date.now() / 1000) + 1;
    // Two scrapes after phaseOneSeen (which is up to two seconds ahead), so the first phase's values
    // are the start of the range: counted from phaseOneSeen, not from now, or the range can begin
    // after the second phase did and see no increase.
    await new Promise((r) => setTimeout(r, phaseOneSeen * 1000 + 2_500 - Date.now()));
    await sendPhase(2);
    await pollUntil(
      () => total(`grafana_analytics_sessions_total{dashboard_uid="d-alpha"}`),
      (v) => v === 2,
      10_000
    );
    // A few more scrapes, and rule evaluations, with the second phase in them.
    await new Promise((r) => setTimeout(r, 3_000));
  });

  afterAll(async () => {
    await prometheus?.stop();
    await collector?.stop();
    await grafana?.close();
  });

  it('sees the workload: sessions, the refused cumulative points, the overflow and the missing token', async () => {
    // One session per phase: the cumulative browser's is refused.
    expect(await total(`grafana_analytics_sessions_total{dashboard_uid="d-alpha"}`)).toBe(2);
    const refused = await prometheus!.query('footfall_collector_points_refused_total');
    expect(refused.result.filter((s) => Number(s.value) > 0).map((s) => s.metric.reason)).toContain('not_delta');
    const overflow = await prometheus!.query('footfall_collector_series_overflow_total');
    expect(
      overflow.result.filter((s) => Number(s.value) > 0).map((s) => s.metric.metric),
      JSON.stringify(overflow.result)
    ).toHaveLength(1);
    expect(await total(`footfall_collector_auth_total{mode="bearer",outcome="no_token"}`)).toBe(2);
  });

  it('every panel expression parses and returns data (variables substituted)', async () => {
    const at = Math.floor(Date.now() / 1000);
    const range = at - phaseOneSeen;
    const failures: string[] = [];
    const all = targets();
    for (const t of all) {
      const expr = substitute(t.expr, range);
      const answer = await prometheus!.query(expr, at);
      if (answer.status !== 'success') {
        failures.push(`${t.panel} ${t.refId}: ${answer.error}\n    ${expr}`);
      } else if (answer.result.length === 0) {
        failures.push(`${t.panel} ${t.refId}: no data\n    ${expr}`);
      } else {
        // Grouping by a label the series do not carry "works" and shows one empty group: not data. The
        // first aggregation written is the outermost, whose labels the panel shows.
        const by =
          /\b(?:sum|count|max|min|avg) by \(([^)]+)\)/
            .exec(expr)?.[1]
            ?.split(',')
            .map((l) => l.trim()) ?? [];
        const missing = by.filter((label) => label !== 'le' && answer.result.every((r) => !r.metric[label]));
        if (missing.length > 0) {
          failures.push(`${t.panel} ${t.refId}: no series has ${missing.join(', ')}\n    ${expr}`);
        }
      }
    }
    expect(failures, `${failures.length} of ${all.length} expressions failed:\n${failures.join('\n')}`).toEqual([]);
    expect(all.length).toBeGreaterThanOrEqual(25);
  });

  it('lists exactly the dashboard opened only before the range as "no sessions in the range"', async () => {
    const t = targets().find((x) => x.panel.includes('no sessions in the range'));
    expect(t).toBeDefined();
    const at = Math.floor(Date.now() / 1000);
    const answer = await prometheus!.query(substitute(t!.expr, at - phaseOneSeen), at);
    expect(answer.result.map((s) => s.metric.dashboard_uid)).toEqual(['d-stale']);
  });

  it('lists the dashboard nobody opened as never opened, with its folder, and the opened ones only past their last-opened age', async () => {
    const at = Math.floor(Date.now() / 1000);
    const never = await shown(at, 'Never opened');
    expect(never.map((r) => [r.metric.dashboard_uid, r.metric.dashboard_name, r.metric.dashboard_folder])).toEqual([
      ['d-never', 'Never opened', 'Ops'],
    ]);
    // Listed moments ago: known for well under a day.
    expect(never[0]!.value).toBeGreaterThanOrEqual(0);
    expect(never[0]!.value).toBeLessThan(0.01);
    const opened = ['d-alpha', 'd-beta', 'd-delta', 'd-gamma', 'd-stale'];
    expect((await shown(at, 'Not opened in $unused_days days')).map((r) => r.metric.dashboard_uid).sort()).toEqual(
      opened
    );
    expect(await shown(at, 'Not opened in $unused_days days', 'A', { unused_days: '30' })).toEqual([]);
  });

  /** What a panel's target shows at `at`: its series, with the dashboard's variables (some replaced). */
  async function shown(
    at: number,
    title: string,
    refId = 'A',
    variables: Record<string, string> = {}
  ): Promise<Array<{ metric: Record<string, string>; value: number }>> {
    const t = targets().find((x) => x.panel.endsWith(`"${title}"`) && x.refId === refId);
    if (!t) {
      throw new Error(`no panel "${title}" with a target ${refId}`);
    }
    const expr = substitute(t.expr, at - phaseOneSeen, { ...VARIABLES, ...variables });
    const answer = await prometheus!.query(expr, at);
    if (answer.status !== 'success') {
      throw new Error(`${title} ${refId}: ${answer.error}\n    ${expr}`);
    }
    return answer.result.map((s) => ({ metric: s.metric, value: Number(s.value) }));
  }
  const byFolder = (rows: ReadonlyArray<{ metric: Record<string, string>; value: number }>) =>
    Object.fromEntries(rows.map((r) => [r.metric.dashboard_folder ?? '', r.value]));
  const sumOf = (rows: ReadonlyArray<{ value: number }>) => rows.reduce((t, r) => t + r.value, 0);
  const addUp = (values: Record<string, number>) => Object.values(values).reduce((t, v) => t + v, 0);

  it('breaks sessions, engaged time, dashboards and query errors down by folder, General included, adding up to the totals', async () => {
    // One instant for every query, so that the breakdowns and the totals cover the same window.
    const at = Math.floor(Date.now() / 1000);
    const folders = ['General', 'Ops', 'Sales'];

    // One bar per folder; the dashboards without a folder (Beta absent, Delta empty) are the General bar.
    // Every session series grew by one in the range: General has three (Beta twice, Delta), Ops and Sales one.
    const sessions = byFolder(await shown(at, 'Sessions by folder'));
    expect(Object.keys(sessions).sort()).toEqual(folders);
    expect(sessions.Ops).toBeGreaterThan(0);
    expect(sessions.General! / sessions.Ops!).toBeCloseTo(3, 6);
    expect(sessions.Sales! / sessions.Ops!).toBeCloseTo(1, 6);
    expect(sumOf(await shown(at, 'Sessions in range'))).toBeCloseTo(addUp(sessions), 6);
    const overTime = await shown(at, 'Sessions per folder');
    expect(overTime.map((r) => r.metric.dashboard_folder).sort()).toEqual(folders);

    const engaged = byFolder(await shown(at, 'Engaged time by folder'));
    expect(Object.keys(engaged).sort()).toEqual(folders);
    expect(engaged.General! / engaged.Ops!).toBeCloseTo(3, 6);
    expect(sumOf(await shown(at, 'Engaged time in range'))).toBeCloseTo(addUp(engaged), 6);

    // Dashboards: used in the range, and seen in 30 days; the difference is the "no sessions" table (Stale, in Sales).
    const used = byFolder(await shown(at, 'Dashboards used per folder', 'A'));
    const seen = byFolder(await shown(at, 'Dashboards used per folder', 'B'));
    expect(used).toEqual({ General: 2, Ops: 1, Sales: 1 });
    expect(seen).toEqual({ General: 2, Ops: 1, Sales: 2 });
    const unused = await shown(at, 'Dashboards with no sessions in the range');
    expect(addUp(seen) - addUp(used)).toBe(unused.length);

    // Query errors: the folder rows add up to the per-dashboard table; each pair sent 2 failures in 24 queries.
    const errors = byFolder(await shown(at, 'Query errors by folder', 'A'));
    expect(Object.keys(errors).sort()).toEqual(folders);
    expect(addUp(errors)).toBeCloseTo(sumOf(await shown(at, 'Query errors by dashboard and data source type')), 6);
    const ratio = byFolder(await shown(at, 'Query errors by folder', 'B'));
    expect(Object.keys(ratio).sort()).toEqual(folders);
    for (const folder of folders) {
      expect(ratio[folder], folder).toBeCloseTo(2 / 24, 6);
    }
  });

  it('filters by the folder variable: its values are the named folders, and a choice narrows the panels to them', async () => {
    const variable = dashboard.templating?.list?.find((v) => v.name === 'folder');
    expect(variable).toMatchObject({ type: 'query', multi: true, includeAll: true, allValue: '.*' });
    const { selector, label } = labelValuesQuery(variable!);
    // General has no label value to offer: only All (.*) includes it, as the variable's description says.
    expect((await prometheus!.labelValues(label, substitute(selector, 60))).sort()).toEqual(['Ops', 'Sales']);

    const at = Math.floor(Date.now() / 1000);
    const sessions = byFolder(await shown(at, 'Sessions by folder'));
    // One folder, then two as Grafana writes a multi-value choice into a regex matcher.
    expect(sumOf(await shown(at, 'Sessions in range', 'A', { folder: 'Ops' }))).toBeCloseTo(sessions.Ops!, 6);
    expect(sumOf(await shown(at, 'Sessions in range', 'A', { folder: '(Ops|Sales)' }))).toBeCloseTo(
      sessions.Ops! + sessions.Sales!,
      6
    );
    expect(byFolder(await shown(at, 'Sessions by folder', 'A', { folder: 'Sales' }))).toEqual({
      Sales: sessions.Sales,
    });
    expect(byFolder(await shown(at, 'Dashboards used per folder', 'A', { folder: 'Sales' }))).toEqual({ Sales: 1 });
    // Stale is in Sales: the "no sessions" table keeps it for Sales and has nothing for Ops.
    const unused = (folder: string) => shown(at, 'Dashboards with no sessions in the range', 'A', { folder });
    expect((await unused('Sales')).map((r) => r.metric.dashboard_uid)).toEqual(['d-stale']);
    expect(await unused('Ops')).toEqual([]);
    // The dashboard variable offers the chosen folder's dashboards only.
    const dashboards = labelValuesQuery(dashboard.templating!.list!.find((v) => v.name === 'dashboard')!);
    expect(
      await prometheus!.labelValues(
        dashboards.label,
        substitute(dashboards.selector, 60, { ...VARIABLES, folder: 'Ops' })
      )
    ).toEqual(['Alpha']);
  });

  it('every query variable (label_values) finds values', async () => {
    for (const v of dashboard.templating?.list ?? []) {
      if (v.type !== 'query') {
        continue;
      }
      const { selector, label } = labelValuesQuery(v);
      const values = await prometheus!.labelValues(label, substitute(selector, 60));
      expect(values.length, `variable ${v.name}: ${selector} → ${label}`).toBeGreaterThan(0);
    }
  });

  it('every recording rule produces series', async () => {
    const failures: string[] = [];
    for (const group of rules.groups) {
      for (const rule of group.rules) {
        if (!rule.record) {
          continue;
        }
        const answer = await pollUntil(
          () => prometheus!.query(rule.record!),
          (a) => a.result.length > 0,
          5_000
        );
        if (answer.result.length === 0) {
          failures.push(`${group.name}/${rule.record}: no series (${answer.error ?? 'empty'})`);
        }
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
    expect(rules.groups.flatMap((g) => g.rules).length).toBeGreaterThanOrEqual(4);
  });
});
