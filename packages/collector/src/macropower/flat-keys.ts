/**
 * The panel's `flatten` option sends its payload through the `flat` package for Telegraf: nested
 * objects become dotted keys (`dashboard.uid`) and arrays are spelt by index (`variables.0.values.0`).
 * Undoing it takes a few lines, not a dependency. Lists come back as objects keyed "0", "1", …, which
 * listOf() reads as arrays.
 */

type Tree = Record<string, unknown>;

const isTree = (value: unknown): value is Tree => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * More segments than any key the panel flattens (`variables.0.values.0`, a date object's
 * `timeRange.raw.from._locale._config.week.dow`): a 64 KiB key of tens of thousands of segments would
 * otherwise build as many nested objects, tens of milliseconds per request.
 */
const MAX_KEY_SEGMENTS = 16;

/**
 * The payload with its dotted top-level keys nested again. Keys without a dot stay as they are; a
 * dotted key that would write through a value that is not an object, through `__proto__`, or deeper than
 * MAX_KEY_SEGMENTS is left out (no panel sends any of them).
 */
export function unflatten(root: Tree): Tree {
  const keys = Object.keys(root);
  if (!keys.some((k) => k.includes('.'))) {
    return root;
  }
  // Null prototypes: the keys are the client's, and none of them may reach Object.prototype.
  const out: Tree = Object.create(null) as Tree;
  for (const key of keys) {
    if (!key.includes('.')) {
      out[key] = root[key];
      continue;
    }
    const path = key.split('.');
    if (path.length > MAX_KEY_SEGMENTS || path.includes('__proto__')) {
      continue;
    }
    let node = out;
    let blocked = false;
    for (const segment of path.slice(0, -1)) {
      const next = node[segment];
      if (next === undefined) {
        node = node[segment] = Object.create(null) as Tree;
      } else if (isTree(next)) {
        node = next;
      } else {
        blocked = true;
        break;
      }
    }
    if (!blocked) {
      node[path.at(-1)!] = root[key];
    }
  }
  return out;
}

/** An array, or a flattened one (an object whose keys are all indexes), in index order; [] for anything else. */
export function listOf(value: unknown): unknown[] {
  if (Array.isArray(value)) {
    return value;
  }
  if (!isTree(value)) {
    return [];
  }
  const keys = Object.keys(value);
  if (!keys.every((k) => /^\d{1,6}$/.test(k))) {
    return [];
  }
  return keys.sort((a, b) => Number(a) - Number(b)).map((k) => value[k]);
}

/** An object's fields, or an empty object for anything else. */
export function fieldsOf(value: unknown): Tree {
  return isTree(value) ? value : {};
}
