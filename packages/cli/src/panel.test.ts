/** The CLI's copy of the panel's id, name and option defaults must match the panel it writes into dashboards. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../../browser/src/settings.ts';
import { DEFAULT_PANEL_OPTIONS, FOOTFALL_PANEL_NAME, FOOTFALL_PANEL_TYPE } from './panel.js';

const plugin = JSON.parse(readFileSync(new URL('../../panel/src/plugin.json', import.meta.url), 'utf8')) as {
  id: string;
  name: string;
};

describe('the panel the CLI writes', () => {
  it('has the panel plugin’s id and name', () => {
    expect(FOOTFALL_PANEL_TYPE).toBe(plugin.id);
    expect(FOOTFALL_PANEL_NAME).toBe(plugin.name);
  });

  it('carries the panel’s option defaults', () => {
    expect(DEFAULT_PANEL_OPTIONS).toEqual(DEFAULT_OPTIONS);
  });
});
