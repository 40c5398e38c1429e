/**
 * Schema v2 dashboard resources (`apiVersion: dashboard.grafana.app/v2alpha1|v2beta1|v2`): panels
 * are `spec.elements`, placed by `spec.layout`, a tree of GridLayout, RowsLayout, TabsLayout and
 * AutoGridLayout. The footfall panel must be the first thing rendered wherever the dashboard opens:
 *
 * - GridLayout: an item at x 0, y 0, full width, height 1; the other items move down by 1.
 * - AutoGridLayout: the first item (auto-grid gives it a whole cell: it is transparent and empty).
 * - RowsLayout: inside the first row when it is open; before a collapsed first row, a new row with
 *   `hideHeader: true` holding only the panel (a collapsed row never mounts what it holds).
 * - TabsLayout: in every tab, since any tab can be the one a link opens. Each tab gets its own
 *   element, as Grafana itself saves one element per placed panel.
 *
 * v2alpha1 names the plugin in `vizConfig.kind`; v2beta1 and v2 in `vizConfig.group`.
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
import { FOOTFALL_PANEL_TYPE, OLD_PANEL_TYPE } from './panel.js';

/** Where a footfall panel must be: the layout (grid or auto-grid) to head, or a rows layout to prepend a row to. */
type Slot =
  | { readonly kind: 'GridLayout' | 'AutoGridLayout'; readonly path: JsonPath }
  | { readonly kind: 'new-row'; readonly path: JsonPath };

interface Reference {
  /** Path of the layout item. */
  readonly path: JsonPath;
  /** Path of the layout (GridLayout or AutoGridLayout) whose `spec.items` holds it. */
  readonly layout: JsonPath;
  readonly index: number;
  readonly name: string;
  /** Path of the row whose layout this is, when it is one. */
  readonly row?: JsonPath;
}

function pluginOf(element: JsonValue | undefined): string | undefined {
  if (!isObject(element) || element['kind'] !== 'Panel' || !isObject(element['spec'])) {
    return undefined;
  }
  const viz = element['spec']['vizConfig'];
  if (!isObject(viz)) {
    return undefined;
  }
  const plugin = viz['kind'] === 'VizConfig' ? viz['group'] : viz['kind'];
  return typeof plugin === 'string' ? plugin : undefined;
}

function elementsOf(doc: JsonDocument, base: JsonPath): JsonObject {
  const elements = valueAt(doc.root, [...base, 'spec', 'elements']);
  return isObject(elements) ? elements : {};
}

function namesOfPlugin(doc: JsonDocument, base: JsonPath, plugin: string): string[] {
  return Object.entries(elementsOf(doc, base))
    .filter(([, element]) => pluginOf(element) === plugin)
    .map(([name]) => name);
}

function kindAt(doc: JsonDocument, path: JsonPath): string | undefined {
  const kind = valueAt(doc.root, [...path, 'kind']);
  return typeof kind === 'string' ? kind : undefined;
}

function arrayAt(doc: JsonDocument, path: JsonPath): JsonValue[] {
  const value = valueAt(doc.root, path);
  return Array.isArray(value) ? value : [];
}

/** Every layout item that references an element, anywhere in the layout tree. */
function references(doc: JsonDocument, layout: JsonPath, row?: JsonPath): Reference[] {
  const kind = kindAt(doc, layout);
  if (kind === 'GridLayout' || kind === 'AutoGridLayout') {
    return arrayAt(doc, [...layout, 'spec', 'items']).flatMap((item, index) => {
      const name = valueAt(item, ['spec', 'element', 'name']);
      const path = [...layout, 'spec', 'items', index];
      return typeof name === 'string' ? [{ path, layout, index, name, ...(row ? { row } : {}) }] : [];
    });
  }
  if (kind === 'RowsLayout') {
    return arrayAt(doc, [...layout, 'spec', 'rows']).flatMap((_, i) => {
      const rowPath = [...layout, 'spec', 'rows', i];
      return references(doc, [...rowPath, 'spec', 'layout'], rowPath);
    });
  }
  if (kind === 'TabsLayout') {
    return arrayAt(doc, [...layout, 'spec', 'tabs']).flatMap((_, i) =>
      references(doc, [...layout, 'spec', 'tabs', i, 'spec', 'layout'])
    );
  }
  return [];
}

/** The places a footfall panel must head, in document order. */
function slots(doc: JsonDocument, layout: JsonPath): Slot[] {
  const kind = kindAt(doc, layout);
  if (kind === 'GridLayout' || kind === 'AutoGridLayout') {
    return [{ kind, path: layout }];
  }
  if (kind === 'RowsLayout') {
    const first = arrayAt(doc, [...layout, 'spec', 'rows'])[0];
    if (first === undefined || valueAt(first, ['spec', 'collapse']) === true) {
      return [{ kind: 'new-row', path: layout }];
    }
    return slots(doc, [...layout, 'spec', 'rows', 0, 'spec', 'layout']);
  }
  if (kind === 'TabsLayout') {
    return arrayAt(doc, [...layout, 'spec', 'tabs']).flatMap((_, i) =>
      slots(doc, [...layout, 'spec', 'tabs', i, 'spec', 'layout'])
    );
  }
  return [];
}

function gridNumber(item: JsonValue | undefined, key: 'x' | 'y' | 'width' | 'height'): number | undefined {
  const value = valueAt(item ?? null, ['spec', key]);
  return typeof value === 'number' ? value : undefined;
}

function spansTop(item: JsonValue | undefined): boolean {
  return gridNumber(item, 'x') === 0 && gridNumber(item, 'y') === 0 && gridNumber(item, 'width') === 24;
}

/** The name of the element heading a slot, when the slot is filled the way the CLI fills it. */
function slotHead(doc: JsonDocument, slot: Slot): string | undefined {
  if (slot.kind === 'new-row') {
    return undefined;
  }
  const first = arrayAt(doc, [...slot.path, 'spec', 'items'])[0];
  if (first === undefined || (slot.kind === 'GridLayout' && !spansTop(first))) {
    return undefined;
  }
  const name = valueAt(first, ['spec', 'element', 'name']);
  return typeof name === 'string' ? name : undefined;
}

/** Moves every item of a grid layout down by `delta` rows. */
function shiftGrid(doc: JsonDocument, layout: JsonPath, delta: number): void {
  arrayAt(doc, [...layout, 'spec', 'items']).forEach((item, index) => {
    const y = gridNumber(item, 'y');
    if (y !== undefined) {
      doc.set([...layout, 'spec', 'items', index, 'spec', 'y'], y + delta);
    }
  });
}

function pathKey(path: JsonPath): string {
  return JSON.stringify(path);
}

/**
 * Removes layout items, last first. A grid item that spanned the top takes its rows with it; a row
 * left empty with its header hidden is one the CLI added, and goes too.
 */
function removeReferences(doc: JsonDocument, refs: readonly Reference[]): void {
  const ordered = [...refs].sort((a, b) => pathKey(b.path).localeCompare(pathKey(a.path), 'en', { numeric: true }));
  for (const ref of ordered) {
    const item = valueAt(doc.root, ref.path);
    doc.remove(ref.path);
    if (kindAt(doc, ref.layout) === 'GridLayout' && spansTop(item)) {
      const height = gridNumber(item, 'height') ?? 0;
      const rest = arrayAt(doc, [...ref.layout, 'spec', 'items']);
      if (height > 0 && rest.every((other) => (gridNumber(other, 'y') ?? height) >= height)) {
        shiftGrid(doc, ref.layout, -height);
      }
    }
    if (
      ref.row &&
      arrayAt(doc, [...ref.layout, 'spec', 'items']).length === 0 &&
      valueAt(doc.root, [...ref.row, 'spec', 'hideHeader']) === true
    ) {
      doc.remove(ref.row);
    }
  }
}

/** The next free `panel-<n>` key and panel id (Grafana names elements after their panel's id). */
function nextPanelNumber(doc: JsonDocument, base: JsonPath): number {
  const numbers = Object.entries(elementsOf(doc, base)).flatMap(([name, element]) => {
    const id = valueAt(element, ['spec', 'id']);
    const fromName = /^panel-(\d+)$/.exec(name)?.[1];
    return [typeof id === 'number' ? id : 0, fromName === undefined ? 0 : Number(fromName)];
  });
  return Math.max(0, ...numbers) + 1;
}

function vizConfig(apiVersion: string, options: JsonObject): JsonObject {
  const fieldConfig = { defaults: {}, overrides: [] };
  if (apiVersion.endsWith('/v2alpha1')) {
    return { kind: FOOTFALL_PANEL_TYPE, spec: { pluginVersion: '', options, fieldConfig } };
  }
  return { kind: 'VizConfig', group: FOOTFALL_PANEL_TYPE, version: '', spec: { options, fieldConfig } };
}

function footfallElement(apiVersion: string, id: number, options: JsonObject): JsonObject {
  return {
    kind: 'Panel',
    spec: {
      id,
      title: '',
      description: '',
      links: [],
      data: { kind: 'QueryGroup', spec: { queries: [], transformations: [], queryOptions: {} } },
      vizConfig: vizConfig(apiVersion, options),
      transparent: true,
    },
  };
}

function reference(name: string): JsonObject {
  return { kind: 'ElementReference', name };
}

function gridItem(name: string): JsonObject {
  return { kind: 'GridLayoutItem', spec: { x: 0, y: 0, width: 24, height: 1, element: reference(name) } };
}

function fill(doc: JsonDocument, slot: Slot, name: string): void {
  if (slot.kind === 'GridLayout') {
    shiftGrid(doc, slot.path, 1);
    doc.insert([...slot.path, 'spec', 'items'], 0, gridItem(name));
  } else if (slot.kind === 'AutoGridLayout') {
    doc.insert([...slot.path, 'spec', 'items'], 0, { kind: 'AutoGridLayoutItem', spec: { element: reference(name) } });
  } else {
    const layout = { kind: 'GridLayout', spec: { items: [gridItem(name)] } };
    doc.insert([...slot.path, 'spec', 'rows'], 0, {
      kind: 'RowsLayoutRow',
      spec: { title: '', collapse: false, hideHeader: true, layout },
    });
  }
}

function optionsOf(doc: JsonDocument, base: JsonPath, name: string | undefined): JsonObject | undefined {
  if (name === undefined) {
    return undefined;
  }
  const options = valueAt(elementsOf(doc, base)[name] ?? null, ['spec', 'vizConfig', 'spec', 'options']);
  return isObject(options) ? options : undefined;
}

export interface V2InjectSettings {
  readonly options: JsonObject;
}

/**
 * Puts a footfall panel at the head of every slot. Slots already headed by their own footfall
 * element are kept; every other footfall reference and element is removed, and the options of the
 * first footfall element found are reused for the new ones.
 */
export function injectV2(doc: JsonDocument, base: JsonPath, settings: V2InjectSettings): string[] {
  const layout = [...base, 'spec', 'layout'];
  const apiVersion = String(valueAt(doc.root, [...base, 'apiVersion']));
  const footfall = new Set(namesOfPlugin(doc, base, FOOTFALL_PANEL_TYPE));
  const options = optionsOf(doc, base, [...footfall][0]) ?? settings.options;
  // Each slot headed by a footfall element of its own is kept; the first slot wins a shared element.
  const kept = new Set<string>();
  const keptHeads = new Set<string>();
  for (const slot of slots(doc, layout)) {
    const head = slotHead(doc, slot);
    if (head === undefined || !footfall.has(head) || kept.has(head)) {
      continue;
    }
    kept.add(head);
    keptHeads.add(pathKey([...slot.path, 'spec', 'items', 0]));
  }
  const strays = references(doc, layout).filter((ref) => footfall.has(ref.name) && !keptHeads.has(pathKey(ref.path)));
  removeReferences(doc, strays);
  const notes: string[] = [];
  if (strays.length > 0) {
    notes.push(
      `moved ${strays.length === 1 ? 'a footfall panel' : `${strays.length} footfall panels`} that were not at the top`
    );
  }
  for (const name of footfall) {
    if (!kept.has(name)) {
      doc.remove([...base, 'spec', 'elements', name]);
    }
  }

  let next = nextPanelNumber(doc, base);
  const open = slots(doc, layout).filter((slot) => {
    const head = slotHead(doc, slot);
    return head === undefined || !kept.has(head);
  });
  // Last first: a row added to a rows layout moves only what follows it in that layout.
  const names = open.map(() => {
    while (`panel-${next}` in elementsOf(doc, base)) {
      next++;
    }
    const name = `panel-${next}`;
    doc.set([...base, 'spec', 'elements', name], footfallElement(apiVersion, next++, options));
    return name;
  });
  for (let i = open.length - 1; i >= 0; i--) {
    fill(doc, open[i]!, names[i]!);
  }
  return notes;
}

/** Removes every footfall element and its placements, giving back the layout as it was. */
export function removeV2(doc: JsonDocument, base: JsonPath): string[] {
  const footfall = new Set(namesOfPlugin(doc, base, FOOTFALL_PANEL_TYPE));
  removeReferences(
    doc,
    references(doc, [...base, 'spec', 'layout']).filter((ref) => footfall.has(ref.name))
  );
  for (const name of footfall) {
    doc.remove([...base, 'spec', 'elements', name]);
  }
  return [];
}

/**
 * Replaces MacroPower's panel: an old element heading a slot becomes a footfall element in place
 * (same key, id and layout item); every other one is removed; then every slot is filled.
 */
export function migrateV2(doc: JsonDocument, base: JsonPath, settings: V2InjectSettings): string[] {
  const layout = [...base, 'spec', 'layout'];
  const apiVersion = String(valueAt(doc.root, [...base, 'apiVersion']));
  const old = namesOfPlugin(doc, base, OLD_PANEL_TYPE);
  if (old.length === 0) {
    return [];
  }
  const heads = new Set(slots(doc, layout).map((slot) => slotHead(doc, slot)));
  const refs = references(doc, layout);
  const hasFootfall = namesOfPlugin(doc, base, FOOTFALL_PANEL_TYPE).length > 0;
  const inPlace = old.filter(
    (name) => !hasFootfall && heads.has(name) && refs.filter((r) => r.name === name).length === 1
  );
  for (const name of inPlace) {
    const path = [...base, 'spec', 'elements', name];
    const spec = valueAt(doc.root, [...path, 'spec']);
    if (!isObject(spec)) {
      continue;
    }
    const id = typeof spec['id'] === 'number' ? spec['id'] : nextPanelNumber(doc, base);
    const fresh = footfallElement(apiVersion, id, settings.options)['spec'] as JsonObject;
    reshapeObject(doc, [...path, 'spec'], { ...spec, ...fresh, id });
  }
  const removed = old.filter((name) => !inPlace.includes(name));
  removeReferences(
    doc,
    refs.filter((ref) => removed.includes(ref.name))
  );
  for (const name of removed) {
    doc.remove([...base, 'spec', 'elements', name]);
  }
  const notes = injectV2(doc, base, settings);
  return [
    `replaced ${old.length === 1 ? OLD_PANEL_TYPE : `${old.length} ${OLD_PANEL_TYPE}s`}${inPlace.length > 0 ? ' in place' : ' with one at the top'}`,
    ...notes,
  ];
}

/** What keeps the dashboard from passing `check`; empty when it passes. */
export function inspectV2(doc: JsonDocument, base: JsonPath): string[] {
  const problems: string[] = [];
  const layout = [...base, 'spec', 'layout'];
  const footfall = new Set(namesOfPlugin(doc, base, FOOTFALL_PANEL_TYPE));
  const all = slots(doc, layout);
  const heads = all.map((slot) => slotHead(doc, slot));
  const filled = heads.filter((head, i) => head !== undefined && footfall.has(head) && heads.indexOf(head) === i);
  if (footfall.size === 0) {
    problems.push('no footfall panel');
  } else if (filled.length < all.length) {
    problems.push(
      `the footfall panel is not at the top of ${all.length - filled.length} of ${all.length} places (grids, first open row, every tab)`
    );
  }
  const placed = references(doc, layout).filter((ref) => footfall.has(ref.name)).length;
  if (placed > filled.length) {
    problems.push(
      `${placed - filled.length} more footfall panel${placed - filled.length === 1 ? '' : 's'} placed elsewhere`
    );
  }
  const old = namesOfPlugin(doc, base, OLD_PANEL_TYPE).length;
  if (old > 0) {
    problems.push(`still has ${old === 1 ? OLD_PANEL_TYPE : `${old} ${OLD_PANEL_TYPE}s`} (run migrate)`);
  }
  return problems;
}
