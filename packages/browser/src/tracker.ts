/**
 * The page-level tracker: one per browser tab, shared by every instance of the panel on the page, so
 * a dashboard with the panel repeated, copied or used as a library panel still reports one session.
 * Panel instances attach and detach; a session is not tied to them (a panel unmounts for view-panel,
 * edit, a collapsed row or a tab switch while the user is still on the dashboard). A session ends when
 * the location leaves the dashboard, when the page goes away (pagehide), or after the tab was hidden
 * longer than the inactivity timeout.
 */
import type { Attributes } from '@opentelemetry/api';
import { getTemplateSrv, locationService } from '@grafana/runtime';
import type { FootfallOptions } from './settings.ts';
import type { DeliveryStatus } from './durable-exporter.ts';
import { createEngagementClock, engagementOf, type EngagementClock, type EngagementSpan, type EngagementState } from './engagement.ts';
import {
  classifyPath,
  currentGrafana,
  currentUser,
  isPublicDashboard,
  resolveEndpoint,
  text,
  type UserContext,
} from './grafana-context.ts';
import { createPanelMeter, type PanelMeter, type PanelMeterSettings } from './meter.ts';
import { ATTR, METRIC, PANEL_SERVICE_NAME, type MetricName } from './names.ts';
import {
  changedVariables,
  timeRangeLabel,
  variableKinds,
  variablePolicy,
  variablesFromModels,
  variablesFromSearch,
  type VariableSelection,
} from './selections.ts';
import { newSessionId, resumableSession, saveSession, type Session } from './session.ts';

/** What one mounted panel instance knows about its dashboard, refreshed on every render. */
export interface PanelView {
  /** From `${__dashboard.uid}`; '' when the dashboard has none (the URL is used then). */
  readonly dashboardUid: string;
  readonly dashboardTitle: string;
  /** The dashboard's time zone setting (`browser`, `utc`, an IANA zone). */
  readonly timeZone: string;
  /** The raw time range ends: `now-6h`, `now`, or an absolute time. */
  readonly timeFrom: string;
  readonly timeTo: string;
  readonly options: FootfallOptions;
}

export interface DebugInfo {
  readonly sessionId: string | undefined;
  readonly dashboardUid: string | undefined;
  readonly engagement: EngagementState;
  /** Why no session is running on this page, when none is. */
  readonly skipped: string | undefined;
  readonly delivery: DeliveryStatus | undefined;
}

/** The browser the tracker runs in; the page's own globals unless a test passes its own. */
export interface Platform {
  readonly window: Pick<Window, 'addEventListener' | 'removeEventListener'>;
  readonly document: Pick<Document, 'visibilityState' | 'hasFocus' | 'addEventListener' | 'removeEventListener'>;
  readonly storage: Storage | undefined;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  readonly navigatorLanguage: string | undefined;
}

/** A Grafana Echo event, as far as the tracker reads it. */
export interface EchoEventLike {
  readonly type?: unknown;
  readonly payload?: unknown;
}

export interface PageTracker {
  /** A panel instance mounted or re-rendered with this view. */
  attach(instance: object, view: PanelView): void;
  /** A panel instance unmounted; the session goes on. */
  detach(instance: object): void;
  /** An event from Grafana's Echo service (`data-request` events become query metrics). */
  onEchoEvent(event: EchoEventLike): void;
  debugInfo(): DebugInfo;
  /** Removes listeners and timers and flushes; the page itself never needs this, tests do. */
  dispose(): Promise<void>;
}

/** Apps whose queries are not a dashboard's: Explore and alerting run their own. */
const NON_DASHBOARD_SOURCES = new Set(['explore', 'correlations', 'alerting', 'unified-alerting', 'cloud-alerting']);

function withoutEmpty(attributes: Record<string, string>): Attributes {
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== ''));
}

export function createPageTracker(platform: Platform, version: string): PageTracker {
  const instances = new Map<object, PanelView>();
  let reporter: object | undefined;
  let view: PanelView | undefined;
  let meter: PanelMeter | undefined;
  let meterKey = '';
  let session: Session | undefined;
  /** The location path the session started on ('/' for the home dashboard, `/d/<uid>/<slug>` otherwise). */
  let sessionPathname = '';
  let user: UserContext = currentUser(platform.navigatorLanguage);
  let skipped: string | undefined;
  let variables: VariableSelection = new Map();
  let timeRange = '';
  let heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  let heartbeatMs = 0;
  let inactivityTimer: ReturnType<typeof setTimeout> | undefined;
  let listening = false;
  let locationSubscription: { unsubscribe(): void } | undefined;
  const clock: EngagementClock = createEngagementClock(engagementOf(platform.document), platform.now());

  const inactivityMs = (): number => (view?.options.inactivityTimeoutMinutes ?? 30) * 60_000;

  // ---- recording -------------------------------------------------------------------------------

  /**
   * Every attribute a point may carry; the recorder keeps those the catalog declares for its metric.
   * The user's role, theme, time zone and locale are not here: they cannot change while a page lives, so
   * they travel once per export on the resource, and the collector applies them to the metrics that
   * declare them.
   */
  function attributes(): Attributes {
    const attrs: Attributes = {
      [ATTR.DASHBOARD_UID]: session?.dashboardUid ?? view?.dashboardUid ?? '',
      [ATTR.DASHBOARD_NAME]: view?.dashboardTitle ?? '',
      [ATTR.DASHBOARD_TIMEZONE]: view?.timeZone ?? '',
    };
    // Identity is opt-in, for setups where the collector cannot learn it from Grafana's session.
    if (view?.options.sendIdentity) {
      attrs[ATTR.USER_LOGIN] = user.login;
      attrs[ATTR.USER_NAME] = user.name;
    }
    return attrs;
  }

  function record(metric: MetricName, value: number, extra: Attributes = {}): void {
    meter?.recorder.record(metric, value, { ...attributes(), ...extra });
  }

  function credit(span: EngagementSpan | undefined): void {
    if (span && session) record(METRIC.ENGAGED_TIME, span.seconds, { [ATTR.ENGAGEMENT_STATE]: span.state });
  }

  function recordVariables(selection: VariableSelection): void {
    for (const [name, values] of selection) {
      for (const value of values) record(METRIC.VARIABLE_SELECTIONS, 1, { [ATTR.VARIABLE_NAME]: name, [ATTR.VARIABLE_VALUE]: value });
    }
  }

  function recordTimeRange(label: string): void {
    if (label === '' || label === timeRange) return;
    timeRange = label;
    if (session) record(METRIC.TIME_RANGE_SELECTIONS, 1, { [ATTR.TIME_RANGE]: label });
  }

  // ---- the metrics pipeline ---------------------------------------------------------------------

  function ensureMeter(options: FootfallOptions): void {
    const endpoint = resolveEndpoint(options.endpoint);
    const key = `${endpoint} ${options.exportIntervalSeconds}`;
    if (meter && key === meterKey) return;
    const previous = meter;
    if (previous) {
      previous.flush(false);
      void previous.shutdown();
    }
    const grafana = currentGrafana();
    user = currentUser(platform.navigatorLanguage);
    const settings: PanelMeterSettings = {
      endpoint,
      exportIntervalMs: options.exportIntervalSeconds * 1000,
      resource: withoutEmpty({
        'service.name': PANEL_SERVICE_NAME,
        'service.version': version,
        [ATTR.GRAFANA_HOST]: grafana.host,
        [ATTR.GRAFANA_ENV]: grafana.env,
        // Grafana blanks its version for anonymous users when `hide_version` is set.
        'grafana.version': grafana.version,
        'grafana.edition': grafana.edition,
        [ATTR.USER_ROLE]: user.role,
        [ATTR.USER_THEME]: user.theme,
        [ATTR.USER_TIMEZONE]: user.timezone,
        [ATTR.USER_LOCALE]: user.locale,
      }),
      version,
      storage: platform.storage,
      fetch: platform.fetch,
      now: platform.now,
    };
    meter = createPanelMeter(settings);
    meterKey = key;
  }

  // ---- sessions ---------------------------------------------------------------------------------

  function currentVariables(): VariableSelection {
    const policy = variablePolicy(view?.options.variableAllowList ?? '');
    try {
      const models = getTemplateSrv()?.getVariables();
      if (Array.isArray(models) && models.length > 0) return variablesFromModels(models, policy);
    } catch {
      // No template service (a page Grafana did not set up): the URL still has the variables.
    }
    return variablesFromSearch(locationService.getSearchObject(), policy);
  }

  function startOrResume(dashboardUid: string): void {
    const now = platform.now();
    const resumed = resumableSession(platform.storage, dashboardUid, now, inactivityMs());
    session = resumed ?? { id: newSessionId(), dashboardUid, startedAt: now, lastSeenAt: now };
    clock.settle(now); // time before the session is nobody's
    const selection = currentVariables();
    const range = view ? timeRangeLabel(view.timeFrom, view.timeTo) : '';
    if (resumed) {
      // The user chose nothing by reloading.
      variables = selection;
      timeRange = range;
    } else {
      record(METRIC.SESSIONS, 1);
      variables = selection;
      recordVariables(selection);
      timeRange = '';
      if (range !== '') recordTimeRange(range);
    }
    saveSession(platform.storage, session);
    restartHeartbeat();
    if (clock.state === 'hidden') armInactivity();
  }

  function endSession(reason: 'navigation' | 'pagehide' | 'inactivity' | 'dashboard-change', at: number): void {
    const ending = session;
    if (!ending) return;
    credit(clock.settle(at));
    record(METRIC.SESSION_DURATION, Math.max(0, at - ending.startedAt) / 1000);
    ending.lastSeenAt = at;
    if (reason === 'pagehide') {
      ending.endedByPagehide = true;
      saveSession(platform.storage, ending);
    } else {
      saveSession(platform.storage, undefined);
    }
    session = undefined;
    stopHeartbeat();
    disarmInactivity();
    if (reason !== 'pagehide') meter?.flush(false);
  }

  /** Starts a session for the reporting view if the page shows a dashboard that counts. */
  function maybeStart(): void {
    // No panel mounted: the user is elsewhere in Grafana (Explore, another dashboard), whatever the last view was.
    if (!view || session || reporter === undefined) return;
    const pathname = locationService.getLocation().pathname;
    const page = classifyPath(pathname);
    if (page.kind === 'skipped' || isPublicDashboard()) {
      skipped = page.kind === 'skipped' ? page.reason : 'public';
      return;
    }
    const uid = view.dashboardUid || (page.kind === 'dashboard' ? page.uid : '');
    if (uid === '') {
      skipped = 'no dashboard uid (unsaved dashboard)';
      return;
    }
    skipped = undefined;
    sessionPathname = pathname;
    startOrResume(uid);
  }

  // ---- timers -----------------------------------------------------------------------------------

  function heartbeat(): void {
    if (!session) return;
    const now = platform.now();
    if (checkInactivity(now)) return;
    credit(clock.settle(now));
    if (clock.state !== 'hidden') {
      record(METRIC.HEARTBEATS, 1);
      session.lastSeenAt = now;
      saveSession(platform.storage, session);
    }
  }

  function restartHeartbeat(): void {
    stopHeartbeat();
    heartbeatMs = (view?.options.heartbeatIntervalSeconds ?? 60) * 1000;
    heartbeatTimer = setInterval(heartbeat, heartbeatMs);
  }

  function stopHeartbeat(): void {
    if (heartbeatTimer !== undefined) clearInterval(heartbeatTimer);
    heartbeatTimer = undefined;
  }

  /** Ends the session if the tab has been hidden past the timeout; true if it did. */
  function checkInactivity(now: number): boolean {
    if (!session || clock.state !== 'hidden') return false;
    const deadline = clock.since + inactivityMs();
    if (now < deadline) return false;
    // Background timers are throttled and may fire late: the session ended at the deadline, not now.
    endSession('inactivity', deadline);
    return true;
  }

  function armInactivity(): void {
    disarmInactivity();
    inactivityTimer = setTimeout(() => checkInactivity(platform.now()), inactivityMs() + 1000);
  }

  function disarmInactivity(): void {
    if (inactivityTimer !== undefined) clearTimeout(inactivityTimer);
    inactivityTimer = undefined;
  }

  // ---- page events ------------------------------------------------------------------------------

  function onEngagementChange(): void {
    const now = platform.now();
    const next = engagementOf(platform.document);
    if (next === clock.state) return;
    if (clock.state === 'hidden') checkInactivity(now);
    credit(clock.change(next, now));
    if (next === 'hidden') {
      armInactivity();
      // The tab may never come back: send what is pending while the page can still do so.
      meter?.flush(false);
    } else {
      disarmInactivity();
      maybeStart(); // a session ended by inactivity: coming back starts a new one
    }
  }

  function onPageHide(): void {
    endSession('pagehide', platform.now());
    meter?.flush(true);
  }

  function onPageShow(event: Event): void {
    // Back from the back/forward cache: the page lives on, and so may its session.
    if (!(event as PageTransitionEvent).persisted) return;
    meter?.resumed();
    credit(clock.change(engagementOf(platform.document), platform.now()));
    maybeStart();
  }

  function onLocation(location: { pathname: string }): void {
    if (!session) return;
    const page = classifyPath(location.pathname);
    // Same page (only the query changed), or the same dashboard under another slug: still this session.
    const samePage = location.pathname === sessionPathname || (page.kind === 'dashboard' && page.uid === session.dashboardUid);
    if (!samePage) {
      endSession('navigation', platform.now());
      return;
    }
    const search = locationService.getSearchObject() as Record<string, unknown>;
    const now = variablesFromSearch(search, variablePolicy(view?.options.variableAllowList ?? ''), variableKinds(getTemplateSrv()?.getVariables()));
    recordVariables(changedVariables(variables, now));
    variables = new Map([...variables, ...now]);
    const from = search.from;
    const to = search.to;
    if (typeof from === 'string' && typeof to === 'string') recordTimeRange(timeRangeLabel(from, to));
  }

  const guarded =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch {
        // Never let a failure here reach Grafana's page.
      }
    };
  const handlers = {
    visibility: guarded(onEngagementChange),
    pagehide: guarded(onPageHide),
    pageshow: guarded(onPageShow),
  };

  function listen(): void {
    if (listening) return;
    listening = true;
    platform.document.addEventListener('visibilitychange', handlers.visibility);
    platform.window.addEventListener('focus', handlers.visibility);
    platform.window.addEventListener('blur', handlers.visibility);
    platform.window.addEventListener('pagehide', handlers.pagehide);
    platform.window.addEventListener('pageshow', handlers.pageshow);
    locationSubscription = locationService.getLocationObservable().subscribe(guarded(onLocation));
  }

  // ---- panel instances --------------------------------------------------------------------------

  function applyView(next: PanelView): void {
    const previous = view;
    // The ending session keeps the attributes of the view it was recorded with.
    if (session && next.dashboardUid !== '' && next.dashboardUid !== session.dashboardUid) {
      endSession('dashboard-change', platform.now());
    }
    view = next;
    ensureMeter(next.options);
    if (!session) {
      maybeStart();
      return;
    }
    if (previous && previous.options.heartbeatIntervalSeconds !== next.options.heartbeatIntervalSeconds) restartHeartbeat();
    recordTimeRange(timeRangeLabel(next.timeFrom, next.timeTo));
  }

  return {
    attach: guarded((instance: object, next: PanelView) => {
      instances.set(instance, next);
      reporter ??= instance;
      if (instance !== reporter) return; // another copy of the panel on the same page: one report
      listen();
      applyView(next);
    }),
    detach: guarded((instance: object) => {
      instances.delete(instance);
      if (instance !== reporter) return;
      reporter = instances.keys().next().value;
      const next = reporter === undefined ? undefined : instances.get(reporter);
      if (next) applyView(next);
    }),
    onEchoEvent: guarded((event: EchoEventLike) => {
      const payload = (typeof event.payload === 'object' && event.payload !== null ? event.payload : {}) as Record<string, unknown>;
      if (event.type !== 'meta-analytics' || payload.eventName !== 'data-request' || !session) return;
      if (NON_DASHBOARD_SOURCES.has(text(payload.source))) return;
      const uid = text(payload.dashboardUid);
      const extra: Attributes = {
        [ATTR.DATASOURCE_TYPE]: text(payload.datasourceType) || 'unknown',
        ...(uid === '' ? {} : { [ATTR.DASHBOARD_UID]: uid, [ATTR.DASHBOARD_NAME]: text(payload.dashboardName) }),
      };
      record(METRIC.QUERIES, 1, extra);
      if (payload.error !== undefined && payload.error !== null && payload.error !== '') record(METRIC.QUERY_ERRORS, 1, extra);
      const ms = typeof payload.duration === 'number' ? payload.duration : Number.NaN;
      // Grafana reports milliseconds (request end minus start); the catalog's unit is seconds.
      if (Number.isFinite(ms) && ms >= 0) record(METRIC.QUERY_DURATION, ms / 1000, extra);
    }),
    debugInfo() {
      return {
        sessionId: session?.id,
        dashboardUid: session?.dashboardUid,
        engagement: clock.state,
        skipped,
        delivery: meter?.status(),
      };
    },
    async dispose() {
      if (listening) {
        platform.document.removeEventListener('visibilitychange', handlers.visibility);
        platform.window.removeEventListener('focus', handlers.visibility);
        platform.window.removeEventListener('blur', handlers.visibility);
        platform.window.removeEventListener('pagehide', handlers.pagehide);
        platform.window.removeEventListener('pageshow', handlers.pageshow);
        locationSubscription?.unsubscribe();
        listening = false;
      }
      stopHeartbeat();
      disarmInactivity();
      await meter?.shutdown();
      meter = undefined;
    },
  };
}
