/**
 * A JSON file edited the way a person would: every change touches only the text of the value it
 * changes, so key order, indentation, line endings and everything the change does not concern stay
 * byte for byte. jsonc-parser's `modify` computes those minimal edits; this keeps a parsed model in
 * step with the text so transforms can read the current state between edits.
 */
import { isDeepStrictEqual } from 'node:util';
// jsonc-parser's ESM build imports without file extensions, which Node refuses; its UMD build loads.
import jsonc from 'jsonc-parser';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };
export type JsonPath = ReadonlyArray<string | number>;

export interface JsonDocument {
  /** The current text. */
  readonly text: string;
  /** The current value, kept equal to `JSON.parse(text)`; read it, change it only through the methods. */
  readonly root: JsonValue;
  /** Sets the value at `path`: replaces it, or adds the property at the end of its object. */
  set(path: JsonPath, value: JsonValue): void;
  /** Inserts `value` into the array at `path` before `index`. */
  insert(path: JsonPath, index: number, value: JsonValue): void;
  /** Removes the property or array element at `path`. */
  remove(path: JsonPath): void;
  /** Throws when the text and the model disagree (a defect in an edit, never in the user's file). */
  verify(): void;
}

export interface JsonFormatting {
  /** A tab, or the number of spaces of one level. */
  readonly indent: '\t' | number;
  readonly eol: '\n' | '\r\n';
}

/**
 * The indentation and line ending a file already uses, so inserted values look like their
 * neighbours. A file on one line (no indentation to copy) gets Grafana's two spaces.
 */
export function detectFormatting(text: string): JsonFormatting {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const first = /\n([ \t]+)\S/.exec(text)?.[1];
  if (first === undefined) {
    return { indent: 2, eol };
  }
  if (first.startsWith('\t')) {
    return { indent: '\t', eol };
  }
  return { indent: first.length, eol };
}

function isOneLine(text: string): boolean {
  return !text.trimEnd().includes('\n');
}

/** Serialises a new file in the given formatting (used when a file does not exist yet, and in tests). */
export function stringifyJson(value: JsonValue, formatting: JsonFormatting): string {
  const text = JSON.stringify(value, null, formatting.indent);
  return formatting.eol === '\n' ? text : text.replace(/\n/g, '\r\n');
}

function parent(root: JsonValue, path: JsonPath): { container: JsonValue; key: string | number } {
  let node = root;
  for (const step of path.slice(0, -1)) {
    node = (node as Record<string | number, JsonValue>)[step] as JsonValue;
  }
  return { container: node, key: path[path.length - 1]! };
}

export function createJsonDocument(text: string, root: JsonValue = JSON.parse(text) as JsonValue): JsonDocument {
  const formatting = detectFormatting(text);
  // A file on one line (minified, as scripts often write dashboards) stays on one line: values go in as
  // compact JSON, with no formatting pass that would spread the edited region over lines.
  const formattingOptions = isOneLine(text)
    ? undefined
    : {
        insertSpaces: formatting.indent !== '\t',
        tabSize: formatting.indent === '\t' ? 1 : formatting.indent,
        eol: formatting.eol,
      };
  let current = text;
  const edit = (path: JsonPath, value: JsonValue | undefined, isArrayInsertion = false): void => {
    const edits = jsonc.modify(current, [...path], value, { formattingOptions, isArrayInsertion });
    current = jsonc.applyEdits(current, edits);
  };
  return {
    get text() {
      return current;
    },
    root,
    set(path, value) {
      edit(path, value);
      const { container, key } = parent(root, path);
      (container as Record<string | number, JsonValue>)[key] = structuredClone(value);
    },
    insert(path, index, value) {
      edit([...path, index], value, true);
      const { container, key } = parent(root, [...path, index]);
      (container as JsonValue[]).splice(key as number, 0, structuredClone(value));
    },
    remove(path) {
      edit(path, undefined);
      const { container, key } = parent(root, path);
      if (Array.isArray(container)) {
        container.splice(key as number, 1);
      } else {
        delete (container as JsonObject)[key];
      }
    },
    verify() {
      if (!isDeepStrictEqual(JSON.parse(current), root)) {
        throw new Error('internal error: an edit changed the file differently than intended');
      }
    },
  };
}

/** Reads a value along a path, or undefined where the path leads nowhere. */
export function valueAt(root: JsonValue, path: JsonPath): JsonValue | undefined {
  let node: JsonValue | undefined = root;
  for (const step of path) {
    if (node === null || typeof node !== 'object') {
      return undefined;
    }
    node = (node as Record<string | number, JsonValue>)[step];
  }
  return node;
}

export function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns the object at `path` into `next` with one edit per differing key, so a diff shows the keys
 * that changed rather than the whole object: keys missing from `next` are removed, changed ones
 * replaced, new ones added at the end.
 */
export function reshapeObject(doc: JsonDocument, path: JsonPath, next: JsonObject): void {
  const before = valueAt(doc.root, path);
  if (!isObject(before)) {
    doc.set(path, next);
    return;
  }
  for (const key of Object.keys(before)) {
    if (!(key in next)) {
      doc.remove([...path, key]);
    }
  }
  for (const [key, value] of Object.entries(next)) {
    if (!isDeepStrictEqual(before[key], value)) {
      doc.set([...path, key], value);
    }
  }
}
