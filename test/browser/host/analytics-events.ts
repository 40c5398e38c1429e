/**
 * The meta-analytics events Grafana's core sends through Echo, built as core builds them and sent with
 * the real `reportMetaAnalytics` (which hands them to `getEchoSrv()`): `dashboard-view` from
 * emitDashboardViewEvent (features/dashboard/state/analyticsProcessor.ts) and `data-request` from
 * emitDataRequestEvent (features/query/state/queryAnalytics.ts). Keys Grafana leaves out are left out.
 */
import { config, MetaAnalyticsEventName, reportMetaAnalytics, type DataRequestEventPayload } from '@grafana/runtime';
import type { DashboardRef, DataRequestSpec } from './harness-api.ts';

/**
 * The deprecated numeric `dashboardId`, which Grafana 12 and older still send and 13 dropped from the
 * payload types; none for a dashboard without one.
 */
function dashboardId(dashboard: DashboardRef | undefined): { dashboardId?: number } {
  const major = Number(config.buildInfo.version.split('.')[0]);
  return major < 13 && dashboard?.id !== undefined ? { dashboardId: dashboard.id } : {};
}

/** Once per dashboard load, right after Scenes has built the dashboard and before it renders. */
export function emitDashboardView(dashboard: DashboardRef): void {
  reportMetaAnalytics({
    eventName: MetaAnalyticsEventName.DashboardView,
    ...dashboardId(dashboard),
    dashboardUid: dashboard.uid,
    dashboardName: dashboard.title,
    folderName: dashboard.folderTitle,
  });
}

export interface DataRequestContext {
  /** `getDashboardSrv().getCurrent()`: the active dashboard, none on Explore or other pages. */
  readonly dashboard: DashboardRef | undefined;
  readonly onExplore: boolean;
}

/** One query execution's event, as the query runner emits it when it reaches Done or Error. */
export function emitDataRequest(spec: DataRequestSpec, { dashboard, onExplore }: DataRequestContext): void {
  const source = spec.source ?? (onExplore ? 'explore' : 'dashboard');
  const payload: DataRequestEventPayload = {
    eventName: MetaAnalyticsEventName.DataRequest,
    source,
    datasourceName: spec.datasourceName,
    datasourceId: spec.datasourceId ?? 1,
    datasourceUid: spec.datasourceUid,
    datasourceType: spec.datasourceType,
    dataSize: spec.dataSize ?? 1,
    panelId: spec.panelId ?? (dashboard ? 1 : 0),
    duration: spec.duration,
    totalQueries: spec.totalQueries ?? 1,
    cachedQueries: spec.cachedQueries ?? 0,
  };
  if (spec.panelPluginId !== undefined) {
    payload.panelPluginId = spec.panelPluginId;
  }
  if (spec.panelName !== undefined) {
    payload.panelName = spec.panelName;
  }
  const dashboardUid = spec.dashboardUid ?? dashboard?.uid;
  if (dashboardUid !== undefined) {
    Object.assign(payload, dashboardId(dashboard));
    payload.dashboardUid = dashboardUid;
    payload.dashboardName = spec.dashboardName ?? dashboard?.title;
    payload.folderName = spec.folderName ?? dashboard?.folderTitle;
  }
  // Grafana attaches errors to dashboard queries only, not to Explore's or Correlations'.
  if (spec.error !== undefined && source !== 'explore' && source !== 'correlations') {
    payload.error = spec.error;
  }
  reportMetaAnalytics(payload);
}
