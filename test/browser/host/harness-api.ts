/**
 * The contract between the host page and the tests: what `window.footfallHarness` offers. Tests call
 * it through `page.evaluate`, so every argument and result is plain JSON.
 */

export interface DashboardRef {
  readonly uid: string;
  readonly title: string;
}

/** A dashboard variable as the test sets it: a custom variable whose current value is `values`. */
export interface VariableSpec {
  readonly name: string;
  readonly values: readonly string[];
  /** Whether the variable allows several values; defaults to `values.length !== 1`. */
  readonly multi?: boolean;
}

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
  readonly variables?: readonly VariableSpec[];
  /** Copies of the panel on the dashboard (repeats, library panels); defaults to 1. */
  readonly instances?: number;
}

/** The payload of Grafana's `data-request` meta-analytics event, less what the harness fills in. */
export interface DataRequestSpec {
  readonly datasourceType: string;
  readonly datasourceUid: string;
  readonly datasourceName: string;
  /** Milliseconds. */
  readonly duration: number;
  readonly error?: string;
  /** Default to the mounted dashboard's uid and title. */
  readonly dashboardUid?: string;
  readonly dashboardName?: string;
  /** Defaults to the first panel's id. */
  readonly panelId?: number;
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
  /** Grafana's `data-request` event through the real `getEchoSrv()`, as its query runner emits it. */
  emitDataRequest(request: DataRequestSpec): void;
  versions(): Promise<SharedVersions>;
  location(): HarnessLocation;
  /** Errors thrown on the page so far: window errors, unhandled rejections, panel render errors. */
  errors(): string[];
}
