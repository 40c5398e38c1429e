/**
 * Classic dashboards (schema v1: `panels` with `gridPos`, rows as `type: "row"` panels, a collapsed
 * row's panels nested in its own `panels`). Every function edits the dashboard object found at `base`
 * (the root of a file, or `dashboard` in the API's `{dashboard, meta}` form) through a JsonDocument.
 *
 * Grafana keeps a collapsed row's nested panels at the absolute `y` they had when the row was last
 * open, and on expanding moves them by (first nested y − (row y + row h)). Shifting them together with
 * their row keeps that difference, so the row opens exactly as it would have before.
 */
import {
  isObject,
  reshapeObject,
  valueAt,
  type JsonDocument,
  type JsonObject,
  type JsonPath,
  type JsonValue,
} from './json-document.js';
import { FOOTFALL_PANEL_NAME, FOOTFALL_PANEL_TYPE, OLD_PANEL_TYPE, TOP_GRID_POS } from './panel.js';

interface FoundPanel {
  readonly path: JsonPath;
  readonly panel: JsonObject;
  /** Index in the dashboard's `panels` (the row's index for a nested panel). */
  readonly top: number;
  /** Index in its collapsed row's `panels`; -1 for a top-level panel. */
  readonly nested: number;
}

function panelsPath(base: JsonPath): JsonPath {
  return [...base, 'panels'];
}

function topPanels(doc: JsonDocument, base: JsonPath): JsonValue[] {
  const panels = valueAt(doc.root, panelsPath(base));
  return Array.isArray(panels) ? panels : [];
}

/** Every panel, top-level and nested in collapsed rows, in document order. */
function allPanels(doc: JsonDocument, base: JsonPath): FoundPanel[] {
  const found: FoundPanel[] = [];
  topPanels(doc, base).forEach((panel, top) => {
    if (!isObject(panel)) {
      return;
    }
    found.push({ path: [...panelsPath(base), top], panel, top, nested: -1 });
    const nested = panel['panels'];
    if (Array.isArray(nested)) {
      nested.forEach((child, n) => {
        if (isObject(child)) {
          found.push({ path: [...panelsPath(base), top, 'panels', n], panel: child, top, nested: n });
        }
      });
    }
  });
  return found;
}

function gridNumber(panel: JsonObject, key: 'x' | 'y' | 'w' | 'h'): number | undefined {
  const gridPos = panel['gridPos'];
  const value = isObject(gridPos) ? gridPos[key] : undefined;
  return typeof value === 'number' ? value : undefined;
}

/** Spans the first grid row at full width (any height: a migrated panel keeps its own). */
function spansTop(panel: JsonObject): boolean {
  return gridNumber(panel, 'x') === 0 && gridNumber(panel, 'y') === 0 && gridNumber(panel, 'w') === 24;
}

function ofType(type: string): (found: FoundPanel) => boolean {
  return (found) => found.panel['type'] === type;
}

/** The first panel, when it is a footfall panel where the CLI puts it. */
function placedPanel(doc: JsonDocument, base: JsonPath): JsonObject | undefined {
  const first = topPanels(doc, base)[0];
  return isObject(first) && first['type'] === FOOTFALL_PANEL_TYPE && spansTop(first) ? first : undefined;
}

/** Moves every top-level item, and the panels each collapsed row carries, down by `delta` rows. */
function shift(doc: JsonDocument, base: JsonPath, delta: number): void {
  topPanels(doc, base).forEach((panel, top) => {
    if (!isObject(panel)) {
      return;
    }
    const y = gridNumber(panel, 'y');
    if (y !== undefined) {
      doc.set([...panelsPath(base), top, 'gridPos', 'y'], y + delta);
    }
    const nested = panel['panels'];
    if (!Array.isArray(nested)) {
      return;
    }
    nested.forEach((child, n) => {
      const childY = isObject(child) ? gridNumber(child, 'y') : undefined;
      if (childY !== undefined) {
        doc.set([...panelsPath(base), top, 'panels', n, 'gridPos', 'y'], childY + delta);
      }
    });
  });
}

/**
 * Removes the given panels, last first so earlier paths stay valid. A top-level one that spanned the
 * top takes its rows with it: the rest moves up, as it moved down when the panel was added.
 */
function removePanels(doc: JsonDocument, base: JsonPath, panels: readonly FoundPanel[]): void {
  const ordered = [...panels].sort((a, b) => b.top - a.top || b.nested - a.nested);
  for (const found of ordered) {
    doc.remove(found.path);
    const height = gridNumber(found.panel, 'h') ?? 0;
    if (found.nested !== -1 || !spansTop(found.panel) || height <= 0) {
      continue;
    }
    const rest = topPanels(doc, base).filter(isObject);
    if (rest.every((p) => (gridNumber(p, 'y') ?? height) >= height)) {
      shift(doc, base, -height);
    }
  }
}

/** An id no panel uses: the highest over all panels, nested ones included, plus one. */
function unusedId(doc: JsonDocument, base: JsonPath): number {
  const ids = allPanels(doc, base)
    .map((p) => p.panel['id'])
    .filter((id): id is number => typeof id === 'number');
  return Math.max(0, ...ids) + 1;
}

export function footfallPanel(id: number, options: JsonObject): JsonObject {
  return { gridPos: { ...TOP_GRID_POS }, id, options, title: '', transparent: true, type: FOOTFALL_PANEL_TYPE };
}

/** The `__requires` entry Grafana's "export for sharing" lists for a panel plugin. */
function requiresEntry(version: string): JsonObject {
  return { type: 'panel', id: FOOTFALL_PANEL_TYPE, name: FOOTFALL_PANEL_NAME, version };
}

function requiresIndex(doc: JsonDocument, base: JsonPath, id: string): number {
  const requires = valueAt(doc.root, [...base, '__requires']);
  return Array.isArray(requires) ? requires.findIndex((r) => isObject(r) && r['id'] === id) : -1;
}

/** Adds the panel to an export's `__requires`, kept sorted by id as Grafana's exporter writes it. */
function ensureRequires(doc: JsonDocument, base: JsonPath, version: string): void {
  const requires = valueAt(doc.root, [...base, '__requires']);
  if (!Array.isArray(requires) || requiresIndex(doc, base, FOOTFALL_PANEL_TYPE) !== -1) {
    return;
  }
  const after = requires.findIndex((r) => isObject(r) && typeof r['id'] === 'string' && r['id'] > FOOTFALL_PANEL_TYPE);
  doc.insert([...base, '__requires'], after === -1 ? requires.length : after, requiresEntry(version));
}

function dropRequires(doc: JsonDocument, base: JsonPath, id: string): void {
  const index = requiresIndex(doc, base, id);
  if (index !== -1) {
    doc.remove([...base, '__requires', index]);
  }
}

export interface ClassicInjectSettings {
  /** Options for a panel the CLI adds; an existing footfall panel keeps its own. */
  readonly options: JsonObject;
  /** The version written into `__requires`. */
  readonly version: string;
  /** An id to give a panel the CLI adds (migrate passes the old panel's). */
  readonly id?: number;
}

/**
 * Leaves exactly one footfall panel, at the top. One already there is kept as it is; any other (in a
 * row, lower down, a second copy) is removed, and its options and id are reused for the one at the top.
 */
export function injectClassic(doc: JsonDocument, base: JsonPath, settings: ClassicInjectSettings): string[] {
  const notes: string[] = [];
  if (!Array.isArray(valueAt(doc.root, panelsPath(base)))) {
    doc.set(panelsPath(base), []);
  }
  const placed = placedPanel(doc, base);
  const footfall = allPanels(doc, base).filter(ofType(FOOTFALL_PANEL_TYPE));
  const strays = footfall.filter((f) => f.panel !== placed);
  if (strays.length > 0) {
    notes.push(
      `moved ${strays.length === 1 ? 'a footfall panel' : `${strays.length} footfall panels`} to one at the top`
    );
  }
  removePanels(doc, base, strays);
  if (placed === undefined) {
    const reused = strays[0]?.panel;
    const wanted = typeof reused?.['id'] === 'number' ? reused['id'] : settings.id;
    const taken = allPanels(doc, base).some((p) => p.panel['id'] === wanted);
    const id = wanted !== undefined && !taken ? wanted : unusedId(doc, base);
    const options = isObject(reused?.['options']) ? reused['options'] : settings.options;
    shift(doc, base, 1);
    doc.insert(panelsPath(base), 0, footfallPanel(id, options));
  }
  ensureRequires(doc, base, settings.version);
  return notes;
}

/** Removes every footfall panel (and its `__requires` entry), giving back the dashboard as it was. */
export function removeClassic(doc: JsonDocument, base: JsonPath): string[] {
  removePanels(doc, base, allPanels(doc, base).filter(ofType(FOOTFALL_PANEL_TYPE)));
  dropRequires(doc, base, FOOTFALL_PANEL_TYPE);
  return [];
}

/** The old panel turned into the footfall panel, keeping its id, gridPos and any other key in place. */
function convertedPanel(old: JsonObject, options: JsonObject): JsonObject {
  const next: JsonObject = {};
  for (const [key, value] of Object.entries(old)) {
    if (key === 'pluginVersion' || key === 'targets' || key === 'datasource') {
      continue;
    }
    next[key] = value;
  }
  Object.assign(next, { options, title: '', transparent: true, type: FOOTFALL_PANEL_TYPE });
  return next;
}

/**
 * Replaces MacroPower's panel. One at the top (where it had to be to work) becomes the footfall panel
 * in place; one anywhere else is removed and the footfall panel goes to the top.
 */
export function migrateClassic(doc: JsonDocument, base: JsonPath, settings: ClassicInjectSettings): string[] {
  const old = allPanels(doc, base).filter(ofType(OLD_PANEL_TYPE));
  if (old.length === 0) {
    return [];
  }
  const hasFootfall = allPanels(doc, base).some(ofType(FOOTFALL_PANEL_TYPE));
  const first = old[0]!;
  const inPlace = !hasFootfall && first.nested === -1 && first.top === 0 && spansTop(first.panel);
  if (inPlace) {
    reshapeObject(doc, first.path, convertedPanel(first.panel, settings.options));
  }
  removePanels(doc, base, inPlace ? old.slice(1) : old);
  dropRequires(doc, base, OLD_PANEL_TYPE);
  const oldId = first.panel['id'];
  const notes = injectClassic(doc, base, { ...settings, ...(typeof oldId === 'number' ? { id: oldId } : {}) });
  return [
    `replaced ${old.length === 1 ? OLD_PANEL_TYPE : `${old.length} ${OLD_PANEL_TYPE}s`}${inPlace ? ' in place' : ' with one at the top'}`,
    ...notes,
  ];
}

/** What keeps the dashboard from passing `check`; empty when it passes. */
export function inspectClassic(doc: JsonDocument, base: JsonPath): string[] {
  const problems: string[] = [];
  const panels = allPanels(doc, base);
  const footfall = panels.filter(ofType(FOOTFALL_PANEL_TYPE));
  if (footfall.length === 0) {
    problems.push('no footfall panel');
  } else if (placedPanel(doc, base) === undefined) {
    problems.push('the footfall panel is not at the top (x 0, y 0, width 24, first panel)');
  }
  if (footfall.length > 1) {
    problems.push(`${footfall.length} footfall panels, one expected`);
  }
  const old = panels.filter(ofType(OLD_PANEL_TYPE)).length;
  if (old > 0) {
    problems.push(`still has ${old === 1 ? OLD_PANEL_TYPE : `${old} ${OLD_PANEL_TYPE}s`} (run migrate)`);
  }
  return problems;
}
