/**
 * Every dashboard of the corpus (testdata/dashboards: classic small and large, collapsed rows, repeated
 * ids, API response, share export, MacroPower's panel, schema v2 with every layout, 2 and 4 spaces and
 * tabs) through check → inject → check → inject again → remove, asserting what a user would see.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDashboard, transformDashboard } from './dashboard.js';
import { isObject, type JsonObject, type JsonValue } from './json-document.js';
import { DEFAULT_PANEL_OPTIONS, FOOTFALL_PANEL_TYPE, OLD_PANEL_TYPE } from './panel.js';
import {
  classicAllPanels,
  classicDashboard,
  classicRects,
  isFootfall,
  itemElement,
  movedDown,
  overlaps,
  v2ElementPlugin,
  v2Grids,
  v2Rects,
} from './testing/layout.js';

const CORPUS = join(import.meta.dirname, '..', 'testdata', 'dashboards');
const SETTINGS = { version: '0.1.0' };
const files = readdirSync(CORPUS).filter((f) => f.endsWith('.json'));
const read = (file: string): string => readFileSync(join(CORPUS, file), 'utf8');
const inject = (text: string): string => transformDashboard(text, 'inject', SETTINGS).text;
const remove = (text: string): string => transformDashboard(text, 'remove', SETTINGS).text;

function withoutFootfall(panels: JsonValue | undefined): JsonObject[] {
  return (Array.isArray(panels) ? panels.filter(isObject) : [])
    .filter((p) => !isFootfall(p))
    .map((p) => (Array.isArray(p['panels']) ? { ...p, panels: withoutFootfall(p['panels']) } : p));
}

/** Layout items with their y left out, as sorted JSON: what must survive an inject unchanged. */
function v2ItemsIgnoringY(root: JsonObject, footfall: Set<string>): string[] {
  return v2Grids((root['spec'] as JsonObject)['layout'])
    .flatMap((g) => g.items)
    .filter((item) => !footfall.has(itemElement(item)))
    .map((item) => JSON.stringify({ ...item, spec: { ...(item['spec'] as JsonObject), y: undefined } }))
    .sort();
}

describe('the corpus', () => {
  it('has the dashboards the tests claim to cover', () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
    const large = classicAllPanels(JSON.parse(read('classic-large.json')) as JsonObject);
    expect(large.length).toBeGreaterThanOrEqual(60);
    expect(large.some((p) => p['repeat'] === 'instance')).toBe(true);
    expect(large.filter((p) => p['id'] === 5).length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      expect(overlaps(classicOrV2Rects(read(file))), file).toEqual([]);
    }
  });
});

function classicOrV2Rects(text: string) {
  const root = JSON.parse(text) as JsonObject;
  if (typeof root['apiVersion'] === 'string') {
    return v2Grids((root['spec'] as JsonObject)['layout'])
      .filter((g) => g.kind === 'GridLayout')
      .flatMap((g) => overlaps(v2Rects(g)).map((o) => ({ x: 0, y: 0, w: 0, h: 0, label: o })));
  }
  return classicRects(classicDashboard(root));
}

describe.each(files)('%s', (file) => {
  const original = read(file);
  const hasOld = original.includes(OLD_PANEL_TYPE);

  it('fails the check, then passes it after inject', () => {
    expect(checkDashboard(original).status).toBe('failing');
    const after = checkDashboard(inject(original));
    expect(after.problems).toEqual(hasOld ? [expect.stringContaining(`still has ${OLD_PANEL_TYPE}`)] : []);
  });

  it('injects one panel at the top, overlapping nothing, keeping every other panel', () => {
    const result = transformDashboard(original, 'inject', SETTINGS);
    expect(result.status).toBe('changed');
    const before = JSON.parse(original) as JsonObject;
    const after = JSON.parse(result.text) as JsonObject;
    if (typeof before['apiVersion'] === 'string') {
      const elements = (after['spec'] as JsonObject)['elements'] as JsonObject;
      const footfall = new Set(
        Object.keys(elements).filter((k) => v2ElementPlugin(elements[k]) === FOOTFALL_PANEL_TYPE)
      );
      expect(footfall.size).toBeGreaterThanOrEqual(1);
      for (const [key, element] of Object.entries((before['spec'] as JsonObject)['elements'] as JsonObject)) {
        expect(elements[key]).toEqual(element);
      }
      for (const grid of v2Grids((after['spec'] as JsonObject)['layout'])) {
        const refs = grid.items.map(itemElement);
        const at = refs.findIndex((r) => footfall.has(r));
        if (at === -1) {
          continue;
        }
        expect(at, grid.where).toBe(0);
        expect(
          refs.filter((r) => footfall.has(r)),
          grid.where
        ).toHaveLength(1);
        if (grid.kind === 'GridLayout') {
          expect(grid.items[0]!['spec'], grid.where).toMatchObject({ x: 0, y: 0, width: 24, height: 1 });
          expect(overlaps(v2Rects(grid)), grid.where).toEqual([]);
        }
      }
      expect(v2ItemsIgnoringY(after, footfall)).toEqual(v2ItemsIgnoringY(before, footfall));
      return;
    }
    const dashboard = classicDashboard(after);
    const panels = dashboard['panels'] as JsonObject[];
    expect(classicAllPanels(dashboard).filter(isFootfall)).toHaveLength(1);
    expect(panels[0]).toMatchObject({
      type: FOOTFALL_PANEL_TYPE,
      gridPos: { x: 0, y: 0, w: 24, h: 1 },
      transparent: true,
      title: '',
    });
    expect(overlaps(classicRects(dashboard))).toEqual([]);
    expect(panels.slice(1)).toEqual(withoutFootfall(classicDashboard(before)['panels']).map((p) => movedDown(p, 1)));
    const ids = classicAllPanels(classicDashboard(before)).map((p) => p['id']);
    if (!original.includes(FOOTFALL_PANEL_TYPE)) {
      expect(panels[0]!['id']).toBe(Math.max(...(ids as number[]), 0) + 1);
      expect(panels[0]!['options']).toEqual(DEFAULT_PANEL_OPTIONS);
    }
  });

  it('changes no byte when injected twice', () => {
    const once = inject(original);
    const twice = transformDashboard(once, 'inject', SETTINGS);
    expect(twice.status).toBe('unchanged');
    expect(twice.text).toBe(once);
  });

  it('is given back byte for byte by remove', () => {
    expect(remove(inject(original))).toBe(remove(original));
    if (!original.includes(FOOTFALL_PANEL_TYPE)) {
      expect(remove(original)).toBe(original);
    }
  });
});

describe('inject on particular shapes', () => {
  it('keeps the options and id of a footfall panel found in a collapsed row, and moves it to the top', () => {
    const after = JSON.parse(inject(read('footfall-in-row.json'))) as JsonObject;
    const panels = after['panels'] as JsonObject[];
    expect(panels[0]).toMatchObject({
      id: 7,
      options: { endpoint: '/grafana/footfall/v1/metrics', heartbeatIntervalSeconds: 30 },
    });
    expect(panels.find((p) => p['type'] === 'row')!['panels']).toEqual([]);
  });

  it('adds the panel to a share export’s __requires, sorted by id as Grafana writes it, and remove takes it out', () => {
    const after = JSON.parse(inject(read('share-export.json'))) as JsonObject;
    expect((after['__requires'] as JsonObject[]).map((r) => r['id'])).toEqual([
      'footfall-usage-panel',
      'grafana',
      'prometheus',
      'stat',
      'timeseries',
    ]);
    expect((after['__requires'] as JsonObject[])[0]).toEqual({
      type: 'panel',
      id: FOOTFALL_PANEL_TYPE,
      name: 'footfall usage',
      version: '0.1.0',
    });
  });

  it('edits the dashboard inside an API response and leaves meta alone', () => {
    const before = JSON.parse(read('api-response.json')) as JsonObject;
    const after = JSON.parse(inject(read('api-response.json'))) as JsonObject;
    expect(after['meta']).toEqual(before['meta']);
    expect(((after['dashboard'] as JsonObject)['panels'] as JsonObject[])[0]!['type']).toBe(FOOTFALL_PANEL_TYPE);
  });

  it('moves the panels of a collapsed row with their row, so the row opens as before', () => {
    const after = JSON.parse(inject(read('classic-large.json'))) as JsonObject;
    for (const row of (after['panels'] as JsonObject[]).filter((p) => p['type'] === 'row' && p['collapsed'] === true)) {
      const rowY = (row['gridPos'] as JsonObject)['y'] as number;
      const first = ((row['panels'] as JsonObject[])[0]!['gridPos'] as JsonObject)['y'] as number;
      expect(first - (rowY + 1)).toBe(0);
    }
  });

  it('puts a hidden-header row before a collapsed first row (v2 RowsLayout)', () => {
    const after = JSON.parse(inject(read('v2-rows-collapsed-first.json'))) as JsonObject;
    const rows = (((after['spec'] as JsonObject)['layout'] as JsonObject)['spec'] as JsonObject)[
      'rows'
    ] as JsonObject[];
    expect(rows).toHaveLength(3);
    expect(rows[0]!['spec']).toMatchObject({ hideHeader: true, collapse: false, layout: { kind: 'GridLayout' } });
    expect(rows[1]!['spec']).toMatchObject({ title: 'First', collapse: true });
  });

  it('puts the panel into the first open row of a v2 RowsLayout, not a new row', () => {
    const after = JSON.parse(inject(read('v2-rows-open-first.json'))) as JsonObject;
    const rows = (((after['spec'] as JsonObject)['layout'] as JsonObject)['spec'] as JsonObject)[
      'rows'
    ] as JsonObject[];
    expect(rows).toHaveLength(2);
    const items = v2Grids((rows[0]!['spec'] as JsonObject)['layout'] as JsonObject)[0]!.items;
    expect(items).toHaveLength(2);
    expect(items[1]!['spec']).toMatchObject({ y: 1 });
  });

  it('puts one element into every tab, nested tabs included (v2alpha1 names the plugin in vizConfig.kind)', () => {
    const after = JSON.parse(inject(read('v2-tabs-nested.json'))) as JsonObject;
    const elements = (after['spec'] as JsonObject)['elements'] as JsonObject;
    const footfall = Object.keys(elements).filter((k) => v2ElementPlugin(elements[k]) === FOOTFALL_PANEL_TYPE);
    // Overview grid, Inner A auto-grid, Inner B grid, and a new row before the collapsed one in the third tab.
    expect(footfall).toEqual(['panel-7', 'panel-8', 'panel-9', 'panel-10']);
    expect((elements['panel-7'] as JsonObject)['spec']).toMatchObject({
      id: 7,
      vizConfig: { kind: FOOTFALL_PANEL_TYPE },
    });
    const heads = v2Grids((after['spec'] as JsonObject)['layout']).map(
      (g) => `${g.where} ${g.items[0] ? itemElement(g.items[0]) : ''}`
    );
    expect(heads).toEqual([
      'layout/tabs[0] panel-7',
      'layout/tabs[1]/rows[0]/tabs[0] panel-8',
      'layout/tabs[1]/rows[0]/tabs[1] panel-9',
      'layout/tabs[1]/rows[1] panel-5',
      'layout/tabs[2]/rows[0] panel-10',
      'layout/tabs[2]/rows[1] panel-6',
    ]);
  });

  it('skips what is not a dashboard, with the reason', () => {
    const text = readFileSync(join(CORPUS, 'not-dashboards', 'datasources.json'), 'utf8');
    const result = transformDashboard(text, 'inject', SETTINGS);
    expect(result.status).toBe('skipped');
    expect(result.text).toBe(text);
    expect(result.notes[0]).toMatch(/not a dashboard/);
  });
});

describe('migrate', () => {
  it('turns Giant Swarm’s top panel into the footfall panel in place and reports what it dropped', () => {
    const original = read('macropower-giantswarm.json');
    const result = transformDashboard(original, 'migrate', SETTINGS);
    const panels = (JSON.parse(result.text) as JsonObject)['panels'] as JsonObject[];
    expect(panels[0]).toEqual({
      gridPos: { h: 1, w: 24, x: 0, y: 0 },
      id: 12,
      options: { ...DEFAULT_PANEL_OPTIONS, heartbeatIntervalSeconds: 60, debug: false },
      title: '',
      transparent: true,
      type: FOOTFALL_PANEL_TYPE,
    });
    expect(panels.slice(1)).toEqual(((JSON.parse(original) as JsonObject)['panels'] as JsonObject[]).slice(1));
    expect(result.notes.join('\n')).toMatch(
      /dropped server="\/analytics-plugin\/write": the old \/write URL is not an OTLP endpoint/
    );
    expect(result.notes.join('\n')).toMatch(/dropped postStart=true/);
    expect(checkDashboard(result.text).status).toBe('ok');
    expect(transformDashboard(result.text, 'migrate', SETTINGS).status).toBe('unchanged');
    expect(transformDashboard(result.text, 'inject', SETTINGS).status).toBe('unchanged');
  });

  it('moves an old panel folded into a row to the top, with its heartbeat interval', () => {
    const original = read('macropower-in-row.json');
    const result = transformDashboard(original, 'migrate', { ...SETTINGS, endpoint: '/grafana/footfall/v1/metrics' });
    const panels = (JSON.parse(result.text) as JsonObject)['panels'] as JsonObject[];
    expect(panels[0]).toMatchObject({ id: 9, type: FOOTFALL_PANEL_TYPE, gridPos: { x: 0, y: 0, w: 24, h: 1 } });
    expect(panels[0]!['options']).toMatchObject({
      heartbeatIntervalSeconds: 30,
      endpoint: '/grafana/footfall/v1/metrics',
    });
    expect(panels[2]!['panels']).toEqual([]);
    expect(result.notes.join('\n')).toMatch(/dropped flatten=true/);
    expect(checkDashboard(result.text).status).toBe('ok');
  });

  it('turns an old v2 element into a footfall element in place', () => {
    const result = transformDashboard(read('v2-macropower.json'), 'migrate', SETTINGS);
    const after = JSON.parse(result.text) as JsonObject;
    const elements = (after['spec'] as JsonObject)['elements'] as JsonObject;
    expect(v2ElementPlugin(elements['panel-9'])).toBe(FOOTFALL_PANEL_TYPE);
    expect((elements['panel-9'] as JsonObject)['spec']).toMatchObject({
      id: 9,
      title: '',
      transparent: true,
      data: { spec: { queries: [] } },
    });
    expect(Object.keys(elements)).toEqual(['panel-1', 'panel-2', 'panel-9']);
    expect(checkDashboard(result.text).status).toBe('ok');
  });

  it('leaves a dashboard without the old panel alone', () => {
    expect(transformDashboard(read('classic-small.json'), 'migrate', SETTINGS).status).toBe('unchanged');
  });
});
