import { beforeAll, describe, expect, test } from 'vitest';
import { PanelOptionsEditorBuilder, standardEditorsRegistry, type StandardEditorsRegistryItem } from '@grafana/data';
import { plugin } from './module.ts';
import { DEFAULT_OPTIONS, type FootfallOptions } from '@footfall/browser/settings.ts';

/**
 * Grafana fills the option-editor registry at boot from its app code (not a package); these stand in
 * for its text, number and boolean editors so the builder can be run as Grafana runs it.
 */
beforeAll(() => {
  const editor = (id: string): StandardEditorsRegistryItem => ({ id, name: id, editor: () => null });
  standardEditorsRegistry.setInit(() => [editor('text'), editor('number'), editor('boolean')]);
});

function optionItems() {
  const builder = new PanelOptionsEditorBuilder<Partial<FootfallOptions>>();
  plugin.getPanelOptionsSupplier()(builder, { data: [] });
  return builder.getItems();
}

describe('plugin', () => {
  test('is a panel plugin rendering FootfallPanel', () => {
    expect(typeof plugin.panel).toBe('function');
    expect(plugin.panel?.name).toBe('FootfallPanel');
  });

  test('its option defaults, as Grafana computes them for a new panel, are DEFAULT_OPTIONS', () => {
    expect(plugin.defaults).toEqual(DEFAULT_OPTIONS);
  });

  test('the options editor offers every option with the right editor and default', () => {
    const kind = (id: string) => standardEditorsRegistry.get(id).editor;
    const items = optionItems();
    const byPath = Object.fromEntries(items.map((i) => [i.path, i]));
    expect(items.map((i) => i.path)).toEqual([
      'endpoint',
      'heartbeatIntervalSeconds',
      'exportIntervalSeconds',
      'inactivityTimeoutMinutes',
      'variableAllowList',
      'recordTextVariables',
      'recordHiddenVariables',
      'sendIdentity',
      'debug',
    ]);
    const expected: Array<[keyof FootfallOptions, string]> = [
      ['endpoint', 'text'],
      ['heartbeatIntervalSeconds', 'number'],
      ['exportIntervalSeconds', 'number'],
      ['inactivityTimeoutMinutes', 'number'],
      ['variableAllowList', 'text'],
      ['recordTextVariables', 'boolean'],
      ['recordHiddenVariables', 'boolean'],
      ['sendIdentity', 'boolean'],
      ['debug', 'boolean'],
    ];
    for (const [path, editor] of expected) {
      const item = byPath[path]!;
      expect(item.editor, path).toBe(kind(editor));
      expect(item.defaultValue, path).toEqual(DEFAULT_OPTIONS[path]);
      expect(item.name, path).not.toBe('');
    }
    // The number inputs hold the same bounds resolveOptions clamps to.
    expect(byPath.heartbeatIntervalSeconds!.settings).toMatchObject({ min: 1, max: 3600, integer: true });
    expect(byPath.exportIntervalSeconds!.settings).toMatchObject({ min: 1, max: 3600, integer: true });
    expect(byPath.inactivityTimeoutMinutes!.settings).toMatchObject({ min: 1, max: 1440, integer: true });
  });
});
