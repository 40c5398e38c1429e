/**
 * provisioning/plugins/: the files Grafana's plugin provisioning reads at start (every *.yaml and *.yml
 * there, pkg/services/provisioning/plugins). Grafana ignores keys it does not know, so a misspelt
 * `orgId` or `enabled` would silently provision org 1 or leave the app on; this checks each entry has
 * only the keys Grafana reads, with their types, and that the app's settings are the ones the README
 * documents, each at its documented default. The per-org examples are comments (a second *.yaml here
 * would be applied too); uncommented into the file, they must be entries of the same shape.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../packages/browser/src/settings.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = join(ROOT, 'provisioning/plugins');
const APP_FILE = join(DIR, 'footfall-app.yaml');
const APP_ID = 'footfall-app';

/** What Grafana's appFromConfigV0 reads, and the YAML type of each. */
const ENTRY_KEYS: Record<string, (v: unknown) => boolean> = {
  type: (v) => typeof v === 'string' && v !== '',
  org_id: (v) => Number.isInteger(v) && (v as number) >= 1,
  org_name: (v) => typeof v === 'string' && v !== '',
  disabled: (v) => typeof v === 'boolean',
  jsonData: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  secureJsonData: (v) => typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string'),
};

function problemsOf(entry: Record<string, unknown>, where: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    const valid = ENTRY_KEYS[key];
    if (!valid) {
      problems.push(`${where}: Grafana does not read \`${key}\``);
    } else if (!valid(value)) {
      problems.push(`${where}: \`${key}\` is ${JSON.stringify(value)}`);
    }
  }
  if (entry.type === undefined) {
    problems.push(`${where}: no \`type\` (Grafana refuses the file)`);
  }
  if (entry.org_id !== undefined && entry.org_name !== undefined) {
    problems.push(`${where}: both org_id and org_name`);
  }
  return problems;
}

/** The README's table of the app's settings: name → default, as YAML reads the default. */
function documentedSettings(): Record<string, unknown> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  // Prettier pads the cells to the column's width.
  const table = readme.slice(readme.search(/^\| setting +\| default +\| what +\|$/m));
  const rows = table
    .split('\n')
    .slice(2)
    .filter((line) => line.startsWith('|'));
  const settings: Record<string, unknown> = {};
  for (const row of rows) {
    const m = /^\| `(\w+)` +\| `([^`]*)` +\|/.exec(row);
    if (m) {
      settings[m[1]!] = parse(m[2]!);
    }
  }
  return settings;
}

/** The file with its commented entries (`#  - type: …` and their indented lines) put back into `apps:`. */
function withCommentedEntries(text: string): string {
  const lines = text.split('\n');
  const entries = lines.filter((l) => /^# {2}(- | {2})/.test(l)).map((l) => l.slice(1));
  const end = lines.findIndex((l, i) => i > 0 && l.startsWith('#') && lines[i - 1] === '');
  return [...lines.slice(0, end), ...entries, ...lines.slice(end)].join('\n');
}

describe('provisioning/plugins', () => {
  it('every file Grafana reads there is `apiVersion: 1` with `apps:` entries of only the keys and types Grafana reads', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
    expect(files).toContain('footfall-app.yaml');
    for (const file of files) {
      const doc = parse(readFileSync(join(DIR, file), 'utf8')) as {
        apiVersion?: unknown;
        apps?: Array<Record<string, unknown>>;
      };
      expect(doc.apiVersion, file).toBe(1);
      expect(Array.isArray(doc.apps) && doc.apps.length > 0, file).toBe(true);
      expect(doc.apps!.flatMap((entry, i) => problemsOf(entry, `${file} apps[${i}]`))).toEqual([]);
    }
  });

  it("the README documents every setting of the app, at the default the app's code applies", () => {
    // `debug` is the panel's alone: the app has no view to show it in.
    const { debug: _debug, ...appDefaults } = DEFAULT_OPTIONS;
    expect(documentedSettings()).toEqual(appDefaults);
  });

  it('enables the app in org 1 with every setting the README documents, each at its default', () => {
    const settings = documentedSettings();
    expect(Object.keys(settings)).toEqual(expect.arrayContaining(['endpoint', 'sendIdentity']));
    const { apps } = parse(readFileSync(APP_FILE, 'utf8')) as { apps: Array<Record<string, unknown>> };
    expect(apps).toEqual([{ type: APP_ID, org_id: 1, disabled: false, jsonData: settings }]);
  });

  it('has per-org examples that, uncommented, are entries like the first, with the same settings', () => {
    const text = readFileSync(APP_FILE, 'utf8');
    const { apps } = parse(withCommentedEntries(text)) as { apps: Array<Record<string, unknown>> };
    expect(apps.length).toBeGreaterThan(1);
    expect(apps.flatMap((entry, i) => problemsOf(entry, `apps[${i}]`))).toEqual([]);
    for (const entry of apps) {
      expect(entry).toMatchObject({ type: APP_ID, disabled: false, jsonData: apps[0]!.jsonData });
    }
    expect(new Set(apps.map((e) => e.org_id ?? e.org_name)).size).toBe(apps.length);
  });

  it('catches what it looks for: a misspelt key, a wrong type, a missing type', () => {
    expect(problemsOf({ type: APP_ID, orgId: 2 }, 'x')).toEqual(['x: Grafana does not read `orgId`']);
    expect(problemsOf({ type: APP_ID, disabled: 'false' }, 'x')).toEqual(['x: `disabled` is "false"']);
    expect(problemsOf({ org_id: 1 }, 'x')).toEqual(['x: no `type` (Grafana refuses the file)']);
    const uncommented = withCommentedEntries('apps:\n  - type: a\n\n# text\n#  - type: b\n#    org_id: 2\n');
    expect((parse(uncommented) as { apps: unknown[] }).apps).toEqual([{ type: 'a' }, { type: 'b', org_id: 2 }]);
  });
});
