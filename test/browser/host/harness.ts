/**
 * `window.footfallHarness`: Grafana's pages reduced to what a panel or a preloaded app plugin sees of
 * them. Each method does what Grafana does for the user action it names, in Grafana's order, through
 * the real @grafana/runtime `locationService` and the stand-in services registered with the real
 * setters.
 */
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { createRoot, type Root } from 'react-dom/client';
import {
  dateMath,
  dateTime,
  EventBusSrv,
  LoadingState,
  type DateTime,
  type EventBus,
  type FieldConfigSource,
  type PanelPlugin,
  type PanelProps,
  type TimeRange,
} from '@grafana/data';
import { config, locationService } from '@grafana/runtime';
import { emitDashboardView, emitDataRequest } from './analytics-events.ts';
import { stateAtUrl, urlValues } from './dashboard-state.ts';
import { DashboardView } from './dashboard-view.tsx';
import type { AppPreloadResult, DashboardRef, FootfallHarness, RawRange } from './harness-api.ts';
import type { SystemJs } from './shared-modules.ts';
import type { DashboardTemplateSrv } from './template-srv.ts';

export interface HarnessDependencies {
  readonly system: SystemJs;
  readonly templateSrv: DashboardTemplateSrv;
  /** Where Grafana's app renders: `#reactRoot`. */
  readonly container: HTMLElement;
  /** The page's error list, filled by the page's own listeners before any module ran. */
  readonly errors: string[];
  /** The boot preload of app plugins, started by the host before any test call. */
  readonly appPreloads: Promise<AppPreloadResult[]>;
}

/** Grafana 11.6+'s Explore pane id: any short key; Grafana makes a random one per pane. */
const EXPLORE_PANE = 'q7x';
/** Roughly what a 24 × 1 grid cell leaves a transparent panel without a title (row height 30 px). */
const PANEL_HEIGHT = 22;

interface MountedDashboard {
  readonly dashboard: DashboardRef;
  range: RawRange;
  readonly timeZone: string;
  panelOptions: Record<string, unknown>;
  fieldConfig: FieldConfigSource;
  renderCounter: number;
  /** One per panel, as each panel in Grafana has its own bus. */
  readonly eventBuses: readonly EventBus[];
}

/** Grafana's URL time parsing: epoch milliseconds, or date math (`now-6h`) and ISO dates. */
function toDateTime(raw: string, roundUp: boolean, timeZone: string): DateTime {
  if (/^\d+$/.test(raw)) {
    return dateTime(Number(raw));
  }
  const parsed = dateMath.parse(raw, roundUp, timeZone === 'browser' ? undefined : timeZone);
  if (!parsed?.isValid()) {
    throw new Error(`invalid time ${raw}`);
  }
  return parsed;
}

function timeRange(raw: RawRange, timeZone: string): TimeRange {
  return { from: toDateTime(raw.from, false, timeZone), to: toDateTime(raw.to, true, timeZone), raw: { ...raw } };
}

/** Grafana's URL slug for a dashboard title (kbn.slugifyForUrl). */
function slugify(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^\w ]+/g, '')
    .replace(/ +/g, '-');
}

function message(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** A macrotask later: where Grafana's router or React picks up what a navigation or state change scheduled. */
const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export function createHarness({
  system,
  templateSrv,
  container,
  errors,
  appPreloads,
}: HarnessDependencies): FootfallHarness {
  let plugin: PanelPlugin | undefined;
  let root: Root | undefined;
  let mounted: MountedDashboard | undefined;
  /** `getDashboardSrv().getCurrent()`: the dashboard that is active (mounted or loaded), if any. */
  let current: DashboardRef | undefined;

  const render = (dashboard: MountedDashboard): void => {
    if (!plugin?.panel) {
      throw new Error('load() the plugin before mounting it');
    }
    root ??= createRoot(container);
    // A callback of a dashboard that is gone (the panel kept it) changes nothing, as in Grafana.
    const update = (change: () => void): void => {
      if (mounted !== dashboard) {
        return;
      }
      change();
      rerender(dashboard);
    };
    const range = timeRange(dashboard.range, dashboard.timeZone);
    const panels = dashboard.eventBuses.map((eventBus, index): PanelProps => ({
      id: index + 1,
      data: { series: [], state: LoadingState.Done, timeRange: range },
      timeRange: range,
      timeZone: dashboard.timeZone,
      options: dashboard.panelOptions,
      fieldConfig: dashboard.fieldConfig,
      transparent: true,
      width: container.clientWidth,
      height: PANEL_HEIGHT,
      title: '',
      renderCounter: dashboard.renderCounter,
      eventBus,
      replaceVariables: (value, scopedVars, format) => templateSrv.replace(value, scopedVars, format),
      onOptionsChange: (options) => update(() => (dashboard.panelOptions = options)),
      onFieldConfigChange: (fieldConfig) => update(() => (dashboard.fieldConfig = fieldConfig)),
      onChangeTimeRange: ({ from, to }) => void harness.setTimeRange(String(from), String(to)),
    }));
    const view = createElement(DashboardView, {
      theme: config.theme2,
      panel: plugin.panel,
      panels,
      onPanelError: (error) => errors.push(message(error)),
    });
    flushSync(() => root!.render(view));
  };

  const rerender = (dashboard: MountedDashboard): void => {
    dashboard.renderCounter += 1;
    render(dashboard);
  };

  /**
   * Scenes' URL sync on dashboard load and on state changes: only keys whose value differs are
   * written, so an unchanged dashboard does not produce a location event.
   */
  const syncUrl = (values: Record<string, string | string[]>, replace: boolean): void => {
    const search = locationService.getSearch();
    const changed = Object.fromEntries(
      Object.entries(values).filter(
        ([key, value]) => search.getAll(key).join('\u0000') !== [value].flat().join('\u0000')
      )
    );
    if (Object.keys(changed).length > 0) {
      locationService.partial(changed, replace);
    }
  };

  // A tick after React's commit, so the panel's effects have run when a call resolves.
  const settled = nextTask;

  /** The dashboard page goes away (another route renders): Scenes deactivates its scene. */
  const leaveDashboard = async (): Promise<void> => {
    if (mounted) {
      await harness.unmount();
    }
    current = undefined;
    templateSrv.clear();
  };

  const harness: FootfallHarness = {
    async load(moduleUrl) {
      const module = await system.import(moduleUrl);
      const exported = module['plugin'] as PanelPlugin | undefined;
      if (!exported?.panel) {
        throw new Error(`${moduleUrl} exports no panel plugin`);
      }
      plugin = exported;
    },

    async mount(options) {
      // The URL wins over the saved dashboard, as when Grafana opens a link with `var-`, `from`, `to`.
      const { variables, range, timeZone } = stateAtUrl(options, locationService.getSearch());
      templateSrv.load(options.dashboard, variables);
      current = options.dashboard;
      syncUrl({ orgId: String(config.bootData.user.orgId), ...urlValues(range, timeZone, templateSrv.models()) }, true);
      mounted = {
        dashboard: options.dashboard,
        range,
        timeZone,
        panelOptions: { ...options.options },
        fieldConfig: { defaults: {}, overrides: [] },
        renderCounter: 0,
        eventBuses: Array.from({ length: options.instances ?? 1 }, () => new EventBusSrv()),
      };
      render(mounted);
      await settled();
    },

    async unmount() {
      if (mounted && current === mounted.dashboard) {
        current = undefined;
      }
      mounted = undefined;
      if (root) {
        flushSync(() => root!.render(null));
      }
      await settled();
    },

    navigate(path) {
      locationService.push(path);
    },

    async openDashboard(options) {
      // In Grafana the history listener moves the location first (synchronously); the router then
      // re-renders, which unmounts the old dashboard's panels before the new dashboard loads.
      locationService.push(`/d/${encodeURIComponent(options.dashboard.uid)}/${slugify(options.dashboard.title)}`);
      await harness.unmount();
      await harness.mount(options);
    },

    setVariable(name, values) {
      templateSrv.setCurrent(name, values);
      syncUrl({ [`var-${name}`]: [...values] }, true);
    },

    async setTimeRange(from, to) {
      if (!mounted) {
        throw new Error('no dashboard is mounted');
      }
      // The time picker makes a history step (Scenes' shouldCreateHistoryStep), then panels re-render.
      syncUrl({ from, to }, false);
      mounted.range = { from, to };
      rerender(mounted);
      await settled();
    },

    emitDataRequest(request) {
      const { pathname, search } = locationService.getLocation();
      if (new URLSearchParams(search).has('editPanel')) {
        return false;
      }
      emitDataRequest(request, { dashboard: current, onExplore: pathname.startsWith('/explore') });
      return true;
    },

    async loadDashboard(options) {
      // DashboardScenePageStateManager.loadDashboard: the scene is built from the saved model, the
      // page state set, and `dashboard-view` emitted at once, before React renders the scene. Only
      // then does the scene activate (variables reach the template service, `getDashboardSrv()` gets
      // it) and UrlSyncContextProvider write the state into the URL, replacing the entry.
      templateSrv.clear();
      current = undefined;
      emitDashboardView(options.dashboard);
      await nextTask();
      const { variables, range, timeZone } = stateAtUrl(options, locationService.getSearch());
      templateSrv.load(options.dashboard, variables);
      current = options.dashboard;
      syncUrl({ orgId: String(config.bootData.user.orgId), ...urlValues(range, timeZone, templateSrv.models()) }, true);
      await settled();
    },

    async visitDashboard(options) {
      const route = options.solo ? 'd-solo' : 'd';
      // The history listener moves the location at once; the router renders the dashboard page a
      // task later, which unmounts the previous page and starts loading the dashboard.
      locationService.push(
        `/${route}/${encodeURIComponent(options.dashboard.uid)}/${slugify(options.dashboard.title)}${options.search ?? ''}`
      );
      await nextTask();
      await leaveDashboard();
      await harness.loadDashboard(options);
    },

    visitExplore(options = {}) {
      const datasource = { type: options.datasourceType ?? 'prometheus', uid: options.datasourceUid ?? 'prometheus' };
      const panes = {
        [EXPLORE_PANE]: {
          datasource: datasource.uid,
          queries: [{ refId: 'A', expr: options.expr ?? 'up', range: true, datasource, editorMode: 'code' }],
          range: { ...(options.range ?? { from: 'now-1h', to: 'now' }) },
        },
      };
      const search = new URLSearchParams({
        schemaVersion: '1',
        panes: JSON.stringify(panes),
        orgId: String(config.bootData.user.orgId),
      });
      locationService.push(`/explore?${search.toString()}`);
      void leaveDashboard();
    },

    visit(path) {
      locationService.push(path);
      void leaveDashboard();
    },

    appPreloads: () => appPreloads,

    async versions() {
      const [react, reactDom] = await Promise.all([system.import('react'), system.import('react-dom')]);
      return {
        react: String(react['version']),
        reactDom: String(reactDom['version']),
        grafana: config.buildInfo.version,
      };
    },

    location() {
      const { pathname, search } = locationService.getLocation();
      return { pathname, search, browserPathname: window.location.pathname };
    },

    errors: () => [...errors],
  };
  return harness;
}
