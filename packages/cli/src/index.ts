export { checkDashboard, locateDashboard, transformDashboard, InvalidJsonError } from './dashboard.js';
export type { CheckResult, DashboardAction, DashboardForm, TransformResult, TransformSettings } from './dashboard.js';
export { migrateOptions } from './migrate-options.js';
export { DEFAULT_PANEL_OPTIONS, FOOTFALL_PANEL_TYPE, OLD_PANEL_TYPE } from './panel.js';
export { neverOpenedQuery, notOpenedForQuery } from './unused-queries.js';
export { findUnused, formatJson, formatTable } from './unused.js';
export type { UnusedDashboard } from './unused.js';
