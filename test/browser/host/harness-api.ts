/**
 * The contract between the host page and the tests: what `window.footfallHarness` offers. Tests call
 * it through `page.evaluate`, so every argument and result is plain JSON.
 */

export interface DashboardRef {
  readonly uid: string;
  readonly title: string;
  /** The folder's title (`meta.folderTitle`), which Grafana reports as `folderName`; none for the root. */
  readonly folderTitle?: string;
  /** The deprecated numeric id, which Grafana still sends as `dashboardId`. */
  readonly id?: number;
}

/** Grafana's `VariableHide`: 0 shows the variable, 1 hides its label, 2 hides it. */
export type VariableHideSpec = 0 | 1 | 2;

/**
 * A dashboard variable with values: its current value is `values`. `custom` by default; `query`
 * variables carry a data source, `constant` ones are hidden and not in the URL, as Grafana has them.
 */
export interface VariableSpec {
  readonly name: string;
  readonly type?: 'custom' | 'query' | 'constant' | 'textbox';
  readonly values: readonly string[];
  /** Whether the variable allows several values; defaults to `values.length !== 1`. */
  readonly multi?: boolean;
  readonly label?: string;
  /** Defaults to 0; a constant's is always 2. */
  readonly hide?: VariableHideSpec;
  /** Whether Grafana leaves it out of the URL; defaults to false. A constant is never in the URL. */
  readonly skipUrlSync?: boolean;
  /** A query variable's data source; defaults to `{ type: 'prometheus', uid: 'prometheus' }`. */
  readonly datasource?: { readonly type: string; readonly uid: string };
}

/** One filter of an ad hoc variable, e.g. `{ key: 'job', operator: '=', value: 'api' }`. */
export interface AdHocFilterSpec {
  readonly key: string;
  readonly operator: string;
  readonly value: string;
}

/** An ad hoc filters variable: no values, a list of filters, written to the URL as `key|op|value`. */
export interface AdHocVariableSpec {
  readonly name: string;
  readonly type: 'adhoc';
  readonly filters: readonly AdHocFilterSpec[];
  readonly label?: string;
  readonly hide?: VariableHideSpec;
  readonly skipUrlSync?: boolean;
  readonly datasource?: { readonly type: string; readonly uid: string };
}

export type AnyVariableSpec = VariableSpec | AdHocVariableSpec;

/** Raw time range as Grafana's URL and time picker write it (`now-6h`, `now`, or epoch milliseconds). */
export interface RawRange {
  readonly from: string;
  readonly to: string;
}

/**
 * A dashboard as saved. The page URL's `var-<name>`, `from`, `to` and `timezone` win over the saved
 * values, as when Grafana opens a dashboard link; mounting then writes the dashboard's state into the
 * URL (with `orgId`), as Grafana's URL sync does.
 */
export interface MountOptions {
  readonly dashboard: DashboardRef;
  /** The panel's saved options; the panel applies its own defaults to what is missing. */
  readonly options?: Record<string, unknown>;
  /** Defaults to Grafana's default range, `now-6h` to `now`. */
  readonly timeRange?: RawRange;
  /** Defaults to `browser`, as a dashboard without a time zone has. */
  readonly timeZone?: string;
  readonly variables?: readonly AnyVariableSpec[];
  /** Copies of the panel on the dashboard (repeats, library panels); defaults to 1. */
  readonly instances?: number;
}

/**
 * The payload of Grafana's `data-request` meta-analytics event, less what the harness fills in
 * (public/app/features/query/state/queryAnalytics.ts).
 */
export interface DataRequestSpec {
  readonly datasourceType: string;
  readonly datasourceUid: string;
  readonly datasourceName: string;
  readonly datasourceId?: number;
  /** Milliseconds. */
  readonly duration: number;
  /** Dropped for Explore, as Grafana reports no error there. */
  readonly error?: string;
  /** `request.app`: defaults to `explore` on an Explore page and to `dashboard` elsewhere. */
  readonly source?: string;
  /**
   * Default to the current dashboard's (mounted or loaded); none on a page without a dashboard,
   * Explore included.
   */
  readonly dashboardUid?: string;
  readonly dashboardName?: string;
  readonly folderName?: string;
  /** Defaults to the first panel's id on a dashboard, 0 elsewhere (Grafana's default). */
  readonly panelId?: number;
  readonly panelPluginId?: string;
  readonly panelName?: string;
  /** Number of frames; defaults to 1. */
  readonly dataSize?: number;
  /** Queries by refId and how many of them were cached; default to 1 and 0. */
  readonly totalQueries?: number;
  readonly cachedQueries?: number;
}

/**
 * A dashboard as Grafana loads it for its page, with no panel of ours on it. As for `MountOptions`,
 * the URL's `var-<name>`, `from`, `to` and `timezone` win over the saved values.
 */
export interface DashboardLoadOptions {
  readonly dashboard: DashboardRef;
  /** Defaults to Grafana's default range, `now-6h` to `now`. */
  readonly timeRange?: RawRange;
  readonly timeZone?: string;
  readonly variables?: readonly AnyVariableSpec[];
}

/** A link to a dashboard: what `visitDashboard` pushes before loading it. */
export interface DashboardVisitOptions extends DashboardLoadOptions {
  /** The link's query string, e.g. `?var-env=prod&from=now-1h&to=now`; none by default. */
  readonly search?: string;
  /** `/d-solo/` (one panel, as the image renderer opens it) instead of `/d/`. */
  readonly solo?: boolean;
}

/** An Explore link as Grafana 11.6 and later write it (`schemaVersion=1`, one pane). */
export interface ExploreVisitOptions {
  readonly datasourceUid?: string;
  readonly datasourceType?: string;
  /** The query's expression; defaults to `up`. */
  readonly expr?: string;
  readonly range?: RawRange;
}

/** How one app's preload ended, as the harness saw it (Grafana shows nothing of it). */
export interface AppPreloadResult {
  readonly id: string;
  /** `skipped`: the preloader's gate kept every app out (no org role, or a render session with the toggle on). */
  readonly outcome: 'loaded' | 'failed' | 'skipped';
  /** The error Grafana logged with `console.error`, for `failed`. */
  readonly error?: string;
}

/** What the page's shared modules are, as a plugin receives them through SystemJS. */
export interface SharedVersions {
  readonly react: string;
  readonly reactDom: string;
  /** `config.buildInfo.version`, the Grafana version the page pretends to be. */
  readonly grafana: string;
}

export interface HarnessLocation {
  /** `locationService.getLocation().pathname`: without the `/grafana` sub-path. */
  readonly pathname: string;
  readonly search: string;
  /** `window.location.pathname`: with the sub-path, as the browser sees it. */
  readonly browserPathname: string;
}

export interface FootfallHarness {
  /** `System.import`s the plugin module and keeps its `plugin` export for `mount`. */
  load(moduleUrl: string): Promise<void>;
  /** Renders the panel as a dashboard shows it; replaces what is mounted. Resolves once committed. */
  mount(options: MountOptions): Promise<void>;
  /** Unmounts the panels, as Grafana does when the dashboard goes away; the page stays. */
  unmount(): Promise<void>;
  /** `locationService.push(path)`, with a sub-path-free path such as `/d/uid2/slug`. */
  navigate(path: string): void;
  /** Grafana's in-app navigation to another dashboard: push `/d/<uid>/<slug>`, unmount the old panels, mount. */
  openDashboard(options: MountOptions): Promise<void>;
  /** A variable change: the template service's current value and the URL's `var-<name>`. */
  setVariable(name: string, values: readonly string[]): void;
  /** A time picker change: new `timeRange` props and `from`/`to` in the URL. */
  setTimeRange(from: string, to: string): Promise<void>;
  /**
   * Grafana's `data-request` event through the real `getEchoSrv()`, as its query runner emits it.
   * Returns false, having sent nothing, while the URL has `editPanel`, where Grafana sends none.
   */
  emitDataRequest(request: DataRequestSpec): boolean;
  /**
   * What Grafana does when a dashboard page loads, for a page with no panel of ours: the
   * `dashboard-view` event (its payload, `{ eventName, dashboardUid, dashboardName, folderName }`, and
   * the deprecated `dashboardId` up to Grafana 12), then, a task later as when Scenes renders the loaded dashboard, the dashboard's
   * state written into the URL (replace) and its variables in the template service. Resolves after both.
   */
  loadDashboard(options: DashboardLoadOptions): Promise<void>;
  /** In-app navigation to a dashboard: leave the current page, push `/d/<uid>/<slug>` (or `/d-solo/`), load it. */
  visitDashboard(options: DashboardVisitOptions): Promise<void>;
  /** In-app navigation to Explore: leave the current page, push `/explore?schemaVersion=1&panes=…&orgId=…`. */
  visitExplore(options?: ExploreVisitOptions): void;
  /** In-app navigation to any other page (sub-path free, e.g. `/alerting/list`): leave the current page, push it. */
  visit(path: string): void;
  /** Resolves when the boot preload of app plugins has ended, with one result per app it tried. */
  appPreloads(): Promise<AppPreloadResult[]>;
  versions(): Promise<SharedVersions>;
  location(): HarnessLocation;
  /** Errors thrown on the page so far: window errors, unhandled rejections, panel render errors. */
  errors(): string[];
}
