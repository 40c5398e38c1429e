/**
 * The page hub: what a footfall plugin's module runs at boot, kept small because Grafana imports the
 * app's module on every page of every user. One hub per tab, on the window under a `Symbol.for` key,
 * so the app and the panel — two bundles, each with its own copy of this code — share it, and a tab
 * counts one session per dashboard whichever of them is installed.
 *
 * At boot the hub registers the one Echo backend of the page and follows the location, keeping what
 * happens until the tracker (tracker.ts, with the OTel SDK) is loaded — lazily, once there is something
 * to track: a dashboard for the app, a mounted panel, or points a previous page of the tab left.
 * Grafana's Echo service keeps no buffer, so the URL is the source of truth and Echo events only
 * enrich it; those that arrive while the tracker loads are handed over once it is there.
 */
import { config, EchoEventType, locationService, registerEchoBackend } from '@grafana/runtime';
import { classifyPath, isRenderFlag } from './machine.ts';
import type { FootfallOptions } from './settings.ts';
import type { EchoEventLike } from './adapters/echo.ts';
import type { DebugInfo, EarlyLocation, PageTracker, PanelView } from './tracker.ts';

/** What the lazily loaded model module (model-entry.ts) exports. */
export interface ModelModule {
  /** With `zeroTouch` (the app's settings), the early locations are tracked as they happened. */
  startTracker(
    early: readonly EarlyLocation[],
    version: string,
    renderer: boolean,
    zeroTouch: Partial<FootfallOptions> | undefined
  ): PageTracker;
}

export interface PageHub {
  /** Bumped when the hub's methods change, so an older copy of the code on the page is not called wrongly. */
  readonly protocol: number;
  /** The app plugin: every dashboard, with the app's settings. */
  enableZeroTouch(options: Partial<FootfallOptions>): void;
  attachPanel(instance: object, view: PanelView): void;
  detachPanel(instance: object): void;
  /** Undefined until the tracker is loaded. */
  debugInfo(): DebugInfo | undefined;
  /** The tracker, loading it if it is not yet; undefined if it will not be (an image-renderer page, or it failed to load). */
  ready(): Promise<PageTracker | undefined>;
}

export const HUB_PROTOCOL = 1;
const HUB_KEY = Symbol.for('footfall.page-hub');
/** Echo events kept while the tracker loads: a dashboard's first panels' queries, and its `dashboard-view`. */
const MAX_EARLY_EVENTS = 200;
const MAX_EARLY_LOCATIONS = 20;
/** What a previous page of this tab may have left for this one (see outbox.ts, session.ts). */
const LEFTOVER_KEYS = ['footfall.outbox', 'footfall.session'];

type HubWindow = typeof globalThis & { [HUB_KEY]?: PageHub };

/** Whether the image renderer loaded this page (reports, image export): nothing on it is a person's visit. */
export function isRendererPage(): boolean {
  try {
    const user = (config.bootData?.user ?? {}) as unknown as Record<string, unknown>;
    if (user.authenticatedBy === 'render') {
      return true;
    }
    if ((globalThis as Record<string, unknown>)['__grafanaImageRendererMessageChannel'] !== undefined) {
      return true;
    }
    const search = locationService.getSearchObject() as Record<string, unknown>;
    // `/d-solo/` is a single panel for the renderer or an iframe embed: no SPA navigation leaves it.
    return isRenderFlag(search.render) || locationService.getLocation().pathname.startsWith('/d-solo/');
  } catch {
    return false;
  }
}

function isDashboardPath(pathname: string): boolean {
  const kind = classifyPath(pathname).kind;
  return kind === 'dashboard' || kind === 'home';
}

/**
 * Loads the model module. The build makes it a chunk of its own, `footfall-model.js` beside the
 * plugin's `module.js`, which webpack's loader fetches relative to the URL Grafana loaded `module.js`
 * from (create-plugin's build sets the public path from the AMD module's URI).
 */
export const loadModel = (): Promise<ModelModule> =>
  import(/* webpackChunkName: "footfall-model" */ './model-entry.ts');

function hasLeftovers(): boolean {
  try {
    return LEFTOVER_KEYS.some((key) => globalThis.sessionStorage?.getItem(key));
  } catch {
    return false;
  }
}

/** The tab's hub, made by the first footfall module that asks for it. */
export function pageHub(load: () => Promise<ModelModule>, version: string): PageHub {
  const global = globalThis as HubWindow;
  const existing = global[HUB_KEY];
  if (existing) {
    if (existing.protocol === HUB_PROTOCOL) {
      return existing;
    }
    console.warn(
      `footfall: another footfall plugin of an incompatible version (hub protocol ${existing.protocol}) tracks this page; update both`
    );
    return inertHub();
  }
  const hub = createHub(load, version);
  global[HUB_KEY] = hub;
  return hub;
}

function inertHub(): PageHub {
  return {
    protocol: HUB_PROTOCOL,
    enableZeroTouch: () => undefined,
    attachPanel: () => undefined,
    detachPanel: () => undefined,
    debugInfo: () => undefined,
    ready: async () => undefined,
  };
}

function createHub(load: () => Promise<ModelModule>, version: string): PageHub {
  const renderer = isRendererPage();
  let tracker: PageTracker | undefined;
  let loading: Promise<PageTracker | undefined> | undefined;
  let zeroTouch: Partial<FootfallOptions> | undefined;
  const panels = new Map<object, PanelView>();
  const earlyEvents: Array<{ event: EchoEventLike; at: number }> = [];
  const earlyLocations: EarlyLocation[] = [];

  const guard = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      console.warn(`footfall: ${what} failed`, e);
    }
  };

  guard('registering the Echo backend', () =>
    registerEchoBackend({
      supportedEvents: [EchoEventType.MetaAnalytics],
      options: {},
      flush: () => undefined,
      addEvent: (event) => {
        if (tracker) {
          tracker.onEchoEvent(event);
        } else if (!renderer && earlyEvents.length < MAX_EARLY_EVENTS) {
          earlyEvents.push({ event, at: Date.now() });
        }
      },
    })
  );

  let locations: { unsubscribe(): void } | undefined;
  guard('following the location', () => {
    // A BehaviorSubject: the current location comes at once.
    locations = locationService.getLocationObservable().subscribe((location) => {
      if (tracker || renderer) {
        return;
      }
      earlyLocations.push({
        at: Date.now(),
        pathname: location.pathname,
        search: { ...(locationService.getSearchObject() as Record<string, unknown>) },
      });
      if (earlyLocations.length > MAX_EARLY_LOCATIONS) {
        earlyLocations.shift();
      }
      if (zeroTouch && isDashboardPath(location.pathname)) {
        void start();
      }
    });
  });

  // A page that goes away while the tracker loads must not start one in its last moments: it would count a
  // session the next page of the tab (a reload) cannot resume. Back from the back/forward cache, it may.
  let goneAway = false;
  let arrived: ModelModule | undefined;
  guard('following the page lifecycle', () => {
    globalThis.addEventListener?.('pagehide', (event) => {
      if (!tracker && !(event as PageTransitionEvent).persisted) {
        goneAway = true;
      }
    });
    globalThis.addEventListener?.('pageshow', (event) => {
      if (!(event as PageTransitionEvent).persisted) {
        return;
      }
      goneAway = false;
      if (arrived && !tracker) {
        begin(arrived);
      }
    });
  });

  function begin(model: ModelModule): PageTracker | undefined {
    arrived = model;
    if (goneAway) {
      return undefined;
    }
    locations?.unsubscribe();
    const t = model.startTracker(earlyLocations.splice(0), version, renderer, zeroTouch);
    for (const [instance, view] of panels) {
      t.attach(instance, view);
    }
    for (const { event, at } of earlyEvents.splice(0)) {
      t.onEchoEvent(event, at);
    }
    tracker = t;
    return t;
  }

  function start(): Promise<PageTracker | undefined> {
    if (renderer) {
      return Promise.resolve(undefined);
    }
    const failed = (e: unknown): undefined => {
      console.error('footfall: could not load its tracker; this page is not counted', e);
      earlyEvents.length = 0;
      return undefined;
    };
    loading ??= load().then((model) => {
      try {
        return begin(model);
      } catch (e) {
        return failed(e);
      }
    }, failed);
    return loading;
  }

  return {
    protocol: HUB_PROTOCOL,
    enableZeroTouch(options) {
      zeroTouch = { ...options };
      if (tracker) {
        guard('applying settings', () => tracker!.enableZeroTouch(options));
        return;
      }
      const pathname = earlyLocations.at(-1)?.pathname ?? '';
      if (isDashboardPath(pathname) || hasLeftovers()) {
        void start();
      }
    },
    attachPanel(instance, view) {
      panels.set(instance, view);
      if (tracker) {
        tracker.attach(instance, view);
      } else {
        void start();
      }
    },
    detachPanel(instance) {
      panels.delete(instance);
      tracker?.detach(instance);
    },
    debugInfo: () => tracker?.debugInfo(),
    ready: () => (renderer ? Promise.resolve(undefined) : (loading ?? start())),
  };
}
