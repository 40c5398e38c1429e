/**
 * One dashboard's text in, the changed text out: recognises which of Grafana's shapes a JSON file
 * holds and hands it to the classic or the v2 transforms. Never writes anything.
 */
import jsonc from 'jsonc-parser';
import { injectClassic, inspectClassic, migrateClassic, removeClassic } from './classic.js';
import {
  createJsonDocument,
  isObject,
  type JsonDocument,
  type JsonObject,
  type JsonPath,
  type JsonValue,
} from './json-document.js';
import { migrateOptions } from './migrate-options.js';
import { DEFAULT_PANEL_OPTIONS, OLD_PANEL_TYPE } from './panel.js';
import { injectV2, inspectV2, migrateV2, removeV2 } from './v2.js';

export type DashboardAction = 'inject' | 'remove' | 'migrate';

/** What a JSON document was recognised as. */
export type DashboardForm = 'classic' | 'share export' | 'API response' | 'v2 resource';

export interface LocatedDashboard {
  readonly schema: 'classic' | 'v2';
  readonly form: DashboardForm;
  /** Path of the dashboard object inside the document. */
  readonly base: JsonPath;
}

export interface TransformSettings {
  /** The CLI's version, written into an export's `__requires`. */
  readonly version: string;
  /** The endpoint option for panels the CLI adds or migrates; undefined keeps the panel's default. */
  readonly endpoint?: string;
}

export interface TransformResult {
  /** `skipped`: not a dashboard (the reason is in `notes`). */
  readonly status: 'changed' | 'unchanged' | 'skipped';
  readonly text: string;
  readonly form?: DashboardForm;
  /** What was done or left out, one line each (e.g. options migrate dropped). */
  readonly notes: string[];
}

export interface CheckResult {
  readonly status: 'ok' | 'failing' | 'skipped';
  readonly form?: DashboardForm;
  /** Why it fails, or why it was skipped. */
  readonly problems: string[];
}

/** JSON that does not parse; the message carries the position. */
export class InvalidJsonError extends Error {
  override readonly name = 'InvalidJsonError';
}

export function parseJson(text: string): JsonValue {
  try {
    // A byte-order mark is legal in a file but not in JSON.parse; the text keeps it.
    return JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text) as JsonValue;
  } catch (error) {
    // JSON.parse does not always say where; jsonc-parser's scanner gives the offset of the first error.
    const errors: jsonc.ParseError[] = [];
    jsonc.parse(text, errors, { allowTrailingComma: false, disallowComments: true });
    const first = errors[0];
    if (first === undefined) {
      throw new InvalidJsonError(`invalid JSON: ${(error as Error).message}`);
    }
    const before = text.slice(0, first.offset).split('\n');
    const where = `line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
    throw new InvalidJsonError(`invalid JSON at ${where}: ${jsonc.printParseErrorCode(first.error)}`);
  }
}

function isV2(value: JsonObject): boolean {
  return (
    typeof value['apiVersion'] === 'string' &&
    value['apiVersion'].startsWith('dashboard.grafana.app/v2') &&
    isObject(value['spec'])
  );
}

function isClassic(value: JsonObject): boolean {
  return (
    Array.isArray(value['panels']) || (typeof value['schemaVersion'] === 'number' && typeof value['title'] === 'string')
  );
}

/** Where the dashboard sits in a document, or why the document is not one the CLI edits. */
export function locateDashboard(root: JsonValue): LocatedDashboard | { readonly skip: string } {
  if (!isObject(root)) {
    return { skip: 'not a dashboard (not a JSON object)' };
  }
  if (isObject(root['dashboard']) && isObject(root['meta'])) {
    const inner = locateDashboard(root['dashboard']);
    return 'skip' in inner ? inner : { ...inner, form: 'API response', base: ['dashboard'] };
  }
  if (isV2(root)) {
    const spec = root['spec'] as JsonObject;
    if (!isObject(spec['elements']) || !isObject(spec['layout'])) {
      return { skip: 'a v2 dashboard without spec.elements and spec.layout' };
    }
    return { schema: 'v2', form: 'v2 resource', base: [] };
  }
  if (Array.isArray(root['rows']) && !Array.isArray(root['panels'])) {
    return { skip: 'a pre-Grafana-5 dashboard (rows, no panels): open and save it in Grafana first' };
  }
  if (isClassic(root)) {
    return { schema: 'classic', form: Array.isArray(root['__requires']) ? 'share export' : 'classic', base: [] };
  }
  return { skip: 'not a dashboard (no panels, no schemaVersion, no dashboard.grafana.app apiVersion)' };
}

function run(
  doc: JsonDocument,
  located: LocatedDashboard,
  action: DashboardAction,
  settings: TransformSettings
): string[] {
  const { base } = located;
  if (action === 'remove') {
    return located.schema === 'v2' ? removeV2(doc, base) : removeClassic(doc, base);
  }
  if (action === 'inject') {
    const options: JsonObject = {
      ...DEFAULT_PANEL_OPTIONS,
      ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    };
    return located.schema === 'v2'
      ? injectV2(doc, base, { options })
      : injectClassic(doc, base, { options, version: settings.version });
  }
  const old = findOldOptions(doc.root, located);
  const { options, dropped } = migrateOptions(old, settings.endpoint);
  const notes =
    located.schema === 'v2'
      ? migrateV2(doc, base, { options })
      : migrateClassic(doc, base, { options, version: settings.version });
  return notes.length === 0 ? notes : [...notes, ...dropped.map((d) => `dropped ${d}`)];
}

/** The first old panel's options (classic `options`, v2 `vizConfig.spec.options`). */
function findOldOptions(root: JsonValue, located: LocatedDashboard): JsonValue | undefined {
  const found: JsonValue[] = [];
  const visit = (value: JsonValue): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (isObject(value)) {
      if (value['type'] === OLD_PANEL_TYPE) {
        found.push(value['options'] ?? null);
      }
      const viz = value['vizConfig'];
      if (
        isObject(viz) &&
        (viz['group'] === OLD_PANEL_TYPE || viz['kind'] === OLD_PANEL_TYPE) &&
        isObject(viz['spec'])
      ) {
        found.push(viz['spec']['options'] ?? null);
      }
      Object.values(value).forEach(visit);
    }
  };
  let node: JsonValue = root;
  for (const step of located.base) {
    node = (node as JsonObject)[step as string] ?? null;
  }
  visit(node);
  return found[0];
}

export function transformDashboard(
  text: string,
  action: DashboardAction,
  settings: TransformSettings
): TransformResult {
  const root = parseJson(text);
  const located = locateDashboard(root);
  if ('skip' in located) {
    return { status: 'skipped', text, notes: [located.skip] };
  }
  const doc = createJsonDocument(text, root);
  const notes = run(doc, located, action, settings);
  doc.verify();
  return { status: doc.text === text ? 'unchanged' : 'changed', text: doc.text, form: located.form, notes };
}

export function checkDashboard(text: string): CheckResult {
  const root = parseJson(text);
  const located = locateDashboard(root);
  if ('skip' in located) {
    return { status: 'skipped', problems: [located.skip] };
  }
  const doc = createJsonDocument(text, root);
  const problems = located.schema === 'v2' ? inspectV2(doc, located.base) : inspectClassic(doc, located.base);
  return { status: problems.length === 0 ? 'ok' : 'failing', form: located.form, problems };
}
