/**
 * What a user would see of a dashboard's layout, for the tests: where the footfall panel is, whether
 * any two things on one grid overlap, and every other panel with its place.
 */
import { isObject, type JsonObject, type JsonValue } from '../json-document.js';
import { FOOTFALL_PANEL_TYPE } from '../panel.js';

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly label: string;
}

/** Pairs of rectangles on the same grid that share a cell. */
export function overlaps(rects: readonly Rect[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < rects.length; i++) {
    for (let j = i + 1; j < rects.length; j++) {
      const a = rects[i]!;
      const b = rects[j]!;
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) {
        found.push(`${a.label} overlaps ${b.label}`);
      }
    }
  }
  return found;
}

/** The dashboard object of a classic document (plain, share export or API response). */
export function classicDashboard(root: JsonValue): JsonObject {
  const object = root as JsonObject;
  return isObject(object['dashboard']) && isObject(object['meta']) ? object['dashboard'] : object;
}

function asPanels(value: JsonValue | undefined): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** Top-level panels and rows as grid rectangles (collapsed rows' panels are not on the grid). */
export function classicRects(dashboard: JsonObject): Rect[] {
  return asPanels(dashboard['panels']).map((p, i) => {
    const g = p['gridPos'] as JsonObject;
    return {
      x: g['x'] as number,
      y: g['y'] as number,
      w: g['w'] as number,
      h: g['h'] as number,
      label: `panels[${i}] ${String(p['title'])}`,
    };
  });
}

/** Every panel, nested ones too, in document order. */
export function classicAllPanels(dashboard: JsonObject): JsonObject[] {
  return asPanels(dashboard['panels']).flatMap((p) => [p, ...asPanels(p['panels'])]);
}

export function isFootfall(panel: JsonObject): boolean {
  return panel['type'] === FOOTFALL_PANEL_TYPE;
}

/** The panel moved down by `rows`, nested panels included. */
export function movedDown(panel: JsonObject, rows: number): JsonObject {
  const copy = structuredClone(panel);
  const g = copy['gridPos'];
  if (isObject(g) && typeof g['y'] === 'number') {
    g['y'] += rows;
  }
  if (Array.isArray(copy['panels'])) {
    copy['panels'] = asPanels(copy['panels']).map((child) => movedDown(child, rows));
  }
  return copy;
}

export interface V2Grid {
  /** Where the grid sits, e.g. `layout/tabs[1]/rows[0]`. */
  readonly where: string;
  readonly kind: 'GridLayout' | 'AutoGridLayout';
  readonly items: JsonObject[];
}

/** Every grid and auto-grid in a v2 layout tree. */
export function v2Grids(layout: JsonValue | undefined, where = 'layout'): V2Grid[] {
  if (!isObject(layout) || !isObject(layout['spec'])) {
    return [];
  }
  const spec = layout['spec'];
  const kind = layout['kind'];
  if (kind === 'GridLayout' || kind === 'AutoGridLayout') {
    return [{ where, kind, items: asPanels(spec['items']) }];
  }
  if (kind === 'RowsLayout') {
    return asPanels(spec['rows']).flatMap((row, i) =>
      v2Grids((row['spec'] as JsonObject)['layout'], `${where}/rows[${i}]`)
    );
  }
  if (kind === 'TabsLayout') {
    return asPanels(spec['tabs']).flatMap((tab, i) =>
      v2Grids((tab['spec'] as JsonObject)['layout'], `${where}/tabs[${i}]`)
    );
  }
  return [];
}

export function v2Rects(grid: V2Grid): Rect[] {
  return grid.items.map((item, i) => {
    const s = item['spec'] as JsonObject;
    return {
      x: s['x'] as number,
      y: s['y'] as number,
      w: s['width'] as number,
      h: s['height'] as number,
      label: `${grid.where}[${i}]`,
    };
  });
}

export function v2ElementPlugin(element: JsonValue | undefined): string | undefined {
  const viz = isObject(element) && isObject(element['spec']) ? element['spec']['vizConfig'] : undefined;
  if (!isObject(viz)) {
    return undefined;
  }
  return String(viz['kind'] === 'VizConfig' ? viz['group'] : viz['kind']);
}

export function itemElement(item: JsonObject): string {
  return String(((item['spec'] as JsonObject)['element'] as JsonObject)['name']);
}
