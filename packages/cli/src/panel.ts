/**
 * The footfall panel as the CLI writes it into dashboards, and the panel it replaces. The id, name and
 * option defaults repeat the panel's plugin.json and the browser package's DEFAULT_OPTIONS because
 * the CLI ships alone (it cannot import the panel's TypeScript sources); panel.test.ts fails when they
 * drift apart.
 */
import type { JsonObject } from './json-document.js';

/** The footfall panel plugin's id (`type` in classic JSON, `vizConfig.group` in schema v2). */
export const FOOTFALL_PANEL_TYPE = 'footfall-usage-panel';
/** Its name, as Grafana writes it into an "export for sharing" `__requires` entry. */
export const FOOTFALL_PANEL_NAME = 'footfall usage';
/** MacroPower's analytics panel, which `migrate` replaces. */
export const OLD_PANEL_TYPE = 'macropower-analytics-panel';

/** The panel's options with their defaults (FootfallOptions in the browser package). */
export const DEFAULT_PANEL_OPTIONS = {
  endpoint: '',
  heartbeatIntervalSeconds: 60,
  exportIntervalSeconds: 300,
  inactivityTimeoutMinutes: 30,
  variableAllowList: '',
  recordTextVariables: false,
  recordHiddenVariables: false,
  sendIdentity: false,
  debug: false,
} as const satisfies JsonObject;

/** Where the hidden panel sits: the full width of the first grid row, one unit high. */
export const TOP_GRID_POS = { h: 1, w: 24, x: 0, y: 0 } as const;
