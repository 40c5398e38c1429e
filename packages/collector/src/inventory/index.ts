export { createInventory, sourceKey } from './inventory.js';
export type { DashboardEntry, Inventory, InventorySettings, InventorySource, SourceState } from './inventory.js';
export { createDashboardLedger } from './ledger.js';
export type { DashboardLedger, LedgerEntry, LedgerState } from './ledger.js';
export { listDashboards, ListingError } from './grafana-search.js';
export type { ListedDashboard, ListingFailure } from './grafana-search.js';
export { createDashboardsProducer, DASHBOARD_FIRST_SEEN, DASHBOARD_INFO, DASHBOARD_LAST_OPENED } from './producer.js';
