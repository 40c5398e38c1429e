/**
 * The page's tracker: the runtime around the pure session machine (machine.ts). It turns what the page
 * and Grafana do into machine events — through three small adapters: the page lifecycle (visibility,
 * focus, pagehide, pageshow), the dashboard context (the URL, which is the source of truth, and
 * Grafana's `dashboard-view` event, which only enriches it) and Grafana's query events — and carries
 * the machine's effects out: the metrics pipeline, sessionStorage, timers and the dashboard lookup.
 *
 * One per browser tab, shared by the app plugin and every instance of the panel (hub.ts).
 */
import { getTemplateSrv, locationService } from '@grafana/runtime';
import type { DeliveryStatus } from './durable-exporter.ts';
import { engagementOf } from './engagement.ts';
import { locationEvent, variablesAt } from './adapters/dashboard-context.ts';
import { echoEvents, type EchoEventLike } from './adapters/echo.ts';
import { followPageLifecycle } from './adapters/page-lifecycle.ts';
import {
  currentGrafana,
  currentUser,
  isPublicDashboard,
  resolveEndpoint,
  type UserContext,
} from './grafana-context.ts';
import {
  debugSummary,
  initialState,
  step,
  type DashboardIdentity,
  type Effect,
  type EngagementState,
  type MachineEvent,
  type MachineSettings,
  type MachineState,
  type PanelContext,
} from './machine.ts';
import { createPanelMeter, type PanelMeter, type PanelMeterSettings } from './meter.ts';
import { ATTR, PANEL_SERVICE_NAME } from './names.ts';
import { timeRangeLabel, variablePolicy } from './selections.ts';
import { loadStoredSession, saveStoredSession } from './session.ts';
import { DEFAULT_OPTIONS, resolveOptions, type FootfallOptions } from './settings.ts';

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
  /** `app` once the app plugin tracks every dashboard; `panel` otherwise. */
  readonly host: 'app' | 'panel';
}

/** The browser the tracker runs in; the page's own globals unless a test passes its own. */
export interface Platform {
  readonly window: Pick<Window, 'addEventListener' | 'removeEventListener'>;
  readonly document: Pick<Document, 'visibilityState' | 'hasFocus' | 'addEventListener' | 'removeEventListener'>;
  readonly storage: Storage | undefined;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  readonly navigatorLanguage: string | undefined;
  /** A dashboard's title and folder from Grafana's API; absent where there is none (the session goes on without a folder). */
  readonly lookup?: (uid: string) => Promise<DashboardIdentity | undefined>;
  /** The image renderer loaded this page (for reports or image export): nothing on it counts. */
  readonly renderer?: boolean;
}

/** A location the page showed before the tracker existed (the app's module loads the tracker lazily). */
export interface EarlyLocation {
  readonly at: number;
  readonly pathname: string;
  readonly search: Readonly<Record<string, unknown>>;
}

export interface PageTracker {
  /** A panel instance mounted or re-rendered with this view. */
  attach(instance: object, view: PanelView): void;
  /** A panel instance unmounted; the session goes on. */
  detach(instance: object): void;
  /** The app plugin: track every dashboard with these settings (they win over any panel's options). */
  enableZeroTouch(options: Partial<FootfallOptions>): void;
  /** An event from Grafana's Echo service (`dashboard-view` and `data-request`). */
  onEchoEvent(event: EchoEventLike, at?: number): void;
  debugInfo(): DebugInfo;
  /** Removes listeners and timers and flushes; the page itself never needs this, tests do. */
  dispose(): Promise<void>;
}

/** How long a session waits for Grafana's `dashboard-view` before asking the API for its folder. */
export const LOOKUP_DELAY_MS = 1_000;
/** Slack after the inactivity deadline, so the check runs after it rather than just before. */
const INACTIVITY_SLACK_MS = 1_000;

function withoutEmpty(attributes: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== ''));
}

export function createPageTracker(
  platform: Platform,
  version: string,
  early: readonly EarlyLocation[] = [],
  zeroTouch: Partial<FootfallOptions> | undefined = undefined
): PageTracker {
  const panels = new Map<object, PanelView>();
  let reporter: object | undefined;
  let appOptions: FootfallOptions | undefined = zeroTouch ? resolveOptions(zeroTouch) : undefined;
  let meter: PanelMeter | undefined;
  let meterKey = '';
  let user: UserContext = currentUser(platform.navigatorLanguage);
  let heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  let heartbeatMs = 0;
  let inactivityTimer: ReturnType<typeof setTimeout> | undefined;
  const lookups = new Set<ReturnType<typeof setTimeout>>();
  let disposed = false;

  const options = (): FootfallOptions =>
    appOptions ?? (reporter ? panels.get(reporter)?.options : undefined) ?? DEFAULT_OPTIONS;

  function machineSettings(): MachineSettings {
    const o = options();
    return {
      inactivityMs: o.inactivityTimeoutMinutes * 60_000,
      // Identity is opt-in, for setups where the collector cannot learn it from Grafana's session.
      identity: o.sendIdentity ? { login: user.login, name: user.name } : undefined,
    };
  }

  let state: MachineState = initialState({
    at: platform.now(),
    settings: machineSettings(),
    engagement: engagementOf(platform.document),
    stored: loadStoredSession(platform.storage),
    render: platform.renderer === true || isPublicDashboard(),
  });

  // ---- the machine ---------------------------------------------------------------------------------

  function dispatch(event: MachineEvent): void {
    if (disposed) {
      return;
    }
    const next = step(state, event);
    state = next.state;
    for (const effect of next.effects) {
      run(effect);
    }
  }

  function run(effect: Effect): void {
    switch (effect.type) {
      case 'record':
        meter?.recorder.record(effect.metric, effect.value, effect.attributes);
        break;
      case 'store':
        saveStoredSession(platform.storage, effect.session);
        break;
      case 'flush':
        meter?.flush(effect.unloading);
        break;
      case 'resumed':
        meter?.resumed();
        break;
      case 'heartbeat-timer':
        if (effect.running) {
          startHeartbeat();
        } else {
          stopHeartbeat();
        }
        break;
      case 'inactivity-timer':
        if (inactivityTimer !== undefined) {
          clearTimeout(inactivityTimer);
        }
        inactivityTimer = undefined;
        if (effect.at !== undefined) {
          inactivityTimer = setTimeout(
            guarded(() => dispatch({ type: 'inactivity-check', at: platform.now() })),
            Math.max(0, effect.at - platform.now()) + INACTIVITY_SLACK_MS
          );
        }
        break;
      case 'lookup-identity':
        lookUp(effect.uid);
        break;
    }
  }

  /** Waits for Grafana's own `dashboard-view`, then asks the API; without an API the session goes on without a folder. */
  function lookUp(uid: string): void {
    const lookup = platform.lookup;
    if (!lookup) {
      queueMicrotask(guarded(() => dispatch({ type: 'identity-unavailable', at: platform.now(), uid })));
      return;
    }
    const timer = setTimeout(
      guarded(() => {
        lookups.delete(timer);
        // Grafana's own event named the dashboard meanwhile, or the session is over.
        if (state.session?.uid !== uid || state.session.identity !== undefined) {
          return;
        }
        lookup(uid).then(
          guarded((identity: DashboardIdentity | undefined) =>
            dispatch(
              identity
                ? { type: 'identity', at: platform.now(), uid, identity, fromView: false }
                : { type: 'identity-unavailable', at: platform.now(), uid }
            )
          ),
          guarded(() => dispatch({ type: 'identity-unavailable', at: platform.now(), uid }))
        );
      }),
      LOOKUP_DELAY_MS
    );
    lookups.add(timer);
  }

  // ---- the metrics pipeline --------------------------------------------------------------------------

  function ensureMeter(): void {
    const o = options();
    const endpoint = resolveEndpoint(o.endpoint);
    const key = `${endpoint} ${o.exportIntervalSeconds}`;
    if (meter && key === meterKey) {
      return;
    }
    const previous = meter;
    if (previous) {
      previous.flush(false);
      void previous.shutdown();
    }
    const grafana = currentGrafana();
    user = currentUser(platform.navigatorLanguage);
    const settings: PanelMeterSettings = {
      endpoint,
      exportIntervalMs: o.exportIntervalSeconds * 1000,
      // The user's role, theme, time zone and locale cannot change while a page lives: they travel once
      // per export on the resource, and the collector applies them to the metrics that declare them.
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

  /**
   * After the options may have changed: the pipeline, the heartbeat and the machine follow them, and
   * the location is read again with them (the variable allow-list may have changed) unless told not to.
   */
  function applyOptions(reread = true): void {
    ensureMeter();
    const ms = options().heartbeatIntervalSeconds * 1000;
    if (heartbeatTimer !== undefined && ms !== heartbeatMs) {
      startHeartbeat();
    }
    dispatch({
      type: 'settings',
      at: platform.now(),
      settings: machineSettings(),
      ...(appOptions ? { zeroTouch: true } : {}),
    });
    if (reread) {
      relocate();
    }
  }

  // ---- timers ------------------------------------------------------------------------------------------

  function startHeartbeat(): void {
    stopHeartbeat();
    heartbeatMs = options().heartbeatIntervalSeconds * 1000;
    heartbeatTimer = setInterval(
      guarded(() => dispatch({ type: 'heartbeat', at: platform.now() })),
      heartbeatMs
    );
  }

  function stopHeartbeat(): void {
    if (heartbeatTimer !== undefined) {
      clearInterval(heartbeatTimer);
    }
    heartbeatTimer = undefined;
  }

  // ---- adapters ---------------------------------------------------------------------------------------------

  const guarded =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch (e) {
        // Never let a failure here reach Grafana's page; say so where an admin looking will see it.
        console.warn('footfall: tracking failed', e);
      }
    };

  function onLocation(pathname: string, search: Readonly<Record<string, unknown>>, at: number): void {
    const o = options();
    let models: unknown;
    try {
      models = getTemplateSrv()?.getVariables();
    } catch {
      // No template service (a page Grafana did not set up): the URL is all there is.
    }
    const preferModels = state.session === undefined && reporter !== undefined && appOptions === undefined;
    dispatch(
      locationEvent(
        pathname,
        search,
        at,
        variablesAt(search, models, variablePolicy(o.variableAllowList, o), preferModels)
      )
    );
  }

  /** The location again, read with the current options (the variable allow-list may have changed). */
  function relocate(): void {
    onLocation(
      locationService.getLocation().pathname,
      locationService.getSearchObject() as Record<string, unknown>,
      platform.now()
    );
  }

  const stopFollowingPage = followPageLifecycle(platform, guarded(dispatch));

  // The app's settings first, so the locations the page showed before the tracker loaded are tracked.
  if (appOptions) {
    guarded(applyOptions)(false);
  }
  for (const location of early) {
    guarded(onLocation)(location.pathname, location.search, location.at);
  }
  // A BehaviorSubject: the current location arrives at once.
  const locationSubscription = locationService
    .getLocationObservable()
    .subscribe(
      guarded((location: { pathname: string }) =>
        onLocation(location.pathname, locationService.getSearchObject() as Record<string, unknown>, platform.now())
      )
    );

  // ---- the hosts -----------------------------------------------------------------------------------------

  function panelContext(view: PanelView): PanelContext {
    return {
      uid: view.dashboardUid,
      title: view.dashboardTitle,
      timeZone: view.timeZone,
      timeRange: timeRangeLabel(view.timeFrom, view.timeTo),
    };
  }

  return {
    attach: guarded((instance: object, view: PanelView) => {
      panels.set(instance, view);
      reporter ??= instance;
      if (instance !== reporter) {
        return;
      } // another copy of the panel on the same page: one report
      applyOptions();
      dispatch({ type: 'panel', at: platform.now(), panel: panelContext(view) });
    }),
    detach: guarded((instance: object) => {
      panels.delete(instance);
      if (instance !== reporter) {
        return;
      }
      reporter = panels.keys().next().value;
      const next = reporter === undefined ? undefined : panels.get(reporter);
      if (next) {
        applyOptions();
      }
      dispatch({ type: 'panel', at: platform.now(), panel: next ? panelContext(next) : undefined });
    }),
    enableZeroTouch: guarded((raw: Partial<FootfallOptions>) => {
      appOptions = resolveOptions(raw);
      applyOptions();
    }),
    onEchoEvent: (event, at = platform.now()) => guarded(() => echoEvents(event, at).forEach(dispatch))(),
    debugInfo() {
      return { ...debugSummary(state), delivery: meter?.status(), host: appOptions ? 'app' : 'panel' };
    },
    async dispose() {
      stopFollowingPage();
      locationSubscription.unsubscribe();
      stopHeartbeat();
      if (inactivityTimer !== undefined) {
        clearTimeout(inactivityTimer);
      }
      for (const timer of lookups) {
        clearTimeout(timer);
      }
      disposed = true;
      await meter?.shutdown();
      meter = undefined;
    },
  };
}
