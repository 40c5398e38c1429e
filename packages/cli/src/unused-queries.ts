/**
 * The PromQL behind `footfall dashboards unused`, shared with the shipped Grafana dashboard (a test
 * compares its expressions with these), so the CLI and the dashboard cannot disagree about which
 * dashboards are unused.
 *
 * The collector exports, per dashboard: `footfall_dashboard_info{dashboard_uid, dashboard_name,
 * dashboard_folder} 1` for every dashboard Grafana has; `footfall_dashboard_last_opened_timestamp_seconds`
 * once one was opened; `footfall_dashboard_first_seen_timestamp_seconds` since the inventory first
 * listed it. Each collector replica exports its own copy, so every side is collapsed by
 * `dashboard_uid` (and the info side by its labels) before joining.
 */

const SECONDS_PER_DAY = 86400;

/** One series per dashboard Grafana has, with its name and folder, whatever the number of replicas. */
const INFO = 'max by (dashboard_uid, dashboard_name, dashboard_folder) (footfall_dashboard_info)';

/**
 * Dashboards never opened; value: days since the inventory first listed them. The earliest first-seen
 * time any replica reports is the truest (a restarted replica starts counting again), hence `min`.
 * A dashboard without a first-seen series still shows, with 0 days (`or` a zero age).
 */
export function neverOpenedQuery(): string {
  return (
    `((time() - min by (dashboard_uid) (footfall_dashboard_first_seen_timestamp_seconds)) / ${SECONDS_PER_DAY}` +
    ` or on (dashboard_uid) 0 * max by (dashboard_uid) (footfall_dashboard_info))` +
    ` * on (dashboard_uid) group_left (dashboard_name, dashboard_folder)` +
    ` (${INFO} unless on (dashboard_uid) footfall_dashboard_last_opened_timestamp_seconds)`
  );
}

/**
 * Dashboards Grafana still has whose last session is more than `days` days old; value: days since.
 * The comparison is parenthesised: `*` binds tighter than `>` in PromQL, and the filter must apply to
 * the age before the join copies the name and folder.
 */
export function notOpenedForQuery(days: number): string {
  if (!Number.isFinite(days) || days < 0) {
    throw new RangeError(`days must be a number of days, not ${days}`);
  }
  return (
    `((time() - max by (dashboard_uid) (footfall_dashboard_last_opened_timestamp_seconds)) / ${SECONDS_PER_DAY} > ${days})` +
    ` * on (dashboard_uid) group_left (dashboard_name, dashboard_folder) ${INFO}`
  );
}
