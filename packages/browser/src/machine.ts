/**
 * The dashboard-session state machine of one browser tab, pure: `step(state, event)` returns the next
 * state and the effects to carry out (metrics to record, the session to store, timers, flushes). It
 * reads no clock, no storage and no Grafana service; the runtime (model.ts) feeds it events with their
 * times and carries the effects out. Everything the product counts is decided here.
 *
 * - A session is one tab looking at one saved dashboard. It starts when the location shows a dashboard
 *   that counts and the host tracks it: every dashboard for the app (zero-touch), only one with the
 *   panel on it otherwise. It ends when the location leaves the dashboard, when the tab stays hidden
 *   past the inactivity timeout (at the deadline), or when the page goes away (pagehide).
 * - A reload resumes the session the previous page of the tab stored at its pagehide, if it is the same
 *   dashboard within the inactivity window: no new session, no choices counted again.
 * - The duration histogram observes a session once, at its first end. A page cannot tell a reload from
 *   a close at pagehide, so that end is the first of: leaving the dashboard, the inactivity deadline,
 *   the first pagehide. A session resumed after a reload has been observed already.
 * - Metrics of a session carry its dashboard's uid, title and folder. The URL gives the uid; the title
 *   and folder come from Grafana's `dashboard-view` and `data-request` events or a lookup. Until they
 *   are known, the session's records are held (so a dashboard has one series, not one without its
 *   folder and one with), and released with what is known when the lookup gives up or the page must
 *   send.
 */
import type { Attributes } from '@opentelemetry/api';
import { ATTR, METRIC, type MetricName } from './names.ts';
import { changedVariables, type VariableSelection } from './selections.ts';

export type EngagementState = 'focused' | 'visible' | 'hidden';

/** What kind of page a (sub-path free) location is. */
export type PageKind =
  | { readonly kind: 'dashboard'; readonly uid: string }
  /** `/`: the home dashboard, whose uid only Grafana's `dashboard-view` event (or a panel on it) tells. */
  | { readonly kind: 'home' }
  | { readonly kind: 'skipped'; readonly reason: SkipReason }
  | { readonly kind: 'other' };

export type SkipReason = 'solo' | 'render' | 'snapshot' | 'public' | 'new';

/** A dashboard's identity beyond its uid. `folder` is '' for the General folder. */
export interface DashboardIdentity {
  readonly title: string;
  readonly folder: string;
}

/** The session the previous page of this tab stored at its pagehide (sessionStorage). */
export interface StoredSession {
  readonly id: string;
  readonly dashboardUid: string;
  /** Epoch ms the session started, on whichever page of the tab that was. */
  readonly startedAt: number;
  /** Epoch ms of the pagehide that stored it. */
  readonly lastSeenAt: number;
  /** Whether its duration was observed already (at that pagehide). */
  readonly durationObserved: boolean;
  readonly identity?: DashboardIdentity;
}

export interface MachineSettings {
  readonly inactivityMs: number;
  /** Opt-in: the user's login and name on every point (`sendIdentity`). Empty strings otherwise. */
  readonly identity: { readonly login: string; readonly name: string } | undefined;
}

/** What a panel on the page knows of its dashboard (the panel host; the app has no panel). */
export interface PanelContext {
  /** '' when the panel could not interpolate it: the URL tells then. */
  readonly uid: string;
  readonly title: string;
  readonly timeZone: string;
  /** The time range label (see selections.timeRangeLabel); '' if unknown. */
  readonly timeRange: string;
}

interface Session {
  readonly id: string;
  readonly uid: string;
  /** The location pathname it runs on: the same dashboard under another slug is still this session. */
  readonly pathname: string;
  readonly startedAt: number;
  readonly durationObserved: boolean;
  readonly identity: DashboardIdentity | undefined;
  /** Records waiting for the identity. */
  readonly held: readonly Held[];
  readonly variables: VariableSelection;
  readonly timeRange: string;
}

interface Held {
  readonly metric: MetricName;
  readonly value: number;
  readonly extra: Attributes;
}

export interface MachineState {
  readonly settings: MachineSettings;
  /** The app is on the page: every dashboard counts, not only those with the panel. */
  readonly zeroTouch: boolean;
  /** The page is an image-renderer load: nothing on it counts. */
  readonly render: boolean;
  readonly location: {
    readonly pathname: string;
    readonly page: PageKind;
    readonly variables: VariableSelection;
    readonly timeRange: string;
    /** The dashboard's time zone as its URL says it (`timezone`, written by Grafana's URL sync); '' if not. */
    readonly timeZone: string;
  };
  /** Set while at least one panel is mounted. */
  readonly panel: PanelContext | undefined;
  /** The home dashboard's uid, from a `dashboard-view` on `/`. */
  readonly homeUid: string | undefined;
  /** Identities seen in Grafana's events, by uid (the last few). */
  readonly known: ReadonlyMap<string, DashboardIdentity>;
  readonly engagement: { readonly state: EngagementState; readonly since: number; readonly credited: number };
  /** Ended by the inactivity deadline while hidden: no new session until the tab is seen again. */
  readonly idle: boolean;
  readonly stored: StoredSession | undefined;
  readonly session: Session | undefined;
  /** Why no session runs, for the debug view. */
  readonly skipped: string | undefined;
}

export type MachineEvent =
  | { readonly type: 'settings'; readonly at: number; readonly settings: MachineSettings; readonly zeroTouch?: boolean }
  | {
      readonly type: 'location';
      readonly at: number;
      readonly pathname: string;
      /** `render=1` in the query: the image renderer. */
      readonly render: boolean;
      readonly variables: VariableSelection;
      readonly timeRange: string;
      readonly timeZone: string;
    }
  | { readonly type: 'panel'; readonly at: number; readonly panel: PanelContext | undefined }
  /** Grafana's `dashboard-view`, a `data-request`'s dashboard fields, or the lookup's answer. */
  | {
      readonly type: 'identity';
      readonly at: number;
      readonly uid: string;
      readonly identity: DashboardIdentity;
      readonly fromView: boolean;
    }
  /** The lookup gave up: release what is held with what is known. */
  | { readonly type: 'identity-unavailable'; readonly at: number; readonly uid: string }
  | { readonly type: 'engagement'; readonly at: number; readonly state: EngagementState }
  | { readonly type: 'heartbeat'; readonly at: number }
  | { readonly type: 'inactivity-check'; readonly at: number }
  | { readonly type: 'pagehide'; readonly at: number; readonly persisted: boolean }
  | { readonly type: 'pageshow'; readonly at: number; readonly persisted: boolean; readonly state: EngagementState }
  | {
      readonly type: 'query';
      readonly at: number;
      /** '' when Grafana did not say. */
      readonly uid: string;
      readonly queries: number;
      readonly failed: boolean;
      readonly datasourceType: string;
      /** Seconds; undefined when Grafana did not measure it. */
      readonly durationSeconds: number | undefined;
    };

export type Effect =
  | { readonly type: 'record'; readonly metric: MetricName; readonly value: number; readonly attributes: Attributes }
  | { readonly type: 'store'; readonly session: StoredSession | undefined }
  /** Send what is pending now; `unloading` while the page goes away. */
  | { readonly type: 'flush'; readonly unloading: boolean }
  /** Back from the back/forward cache: sending works again. */
  | { readonly type: 'resumed' }
  /** Heartbeats run while a session does. */
  | { readonly type: 'heartbeat-timer'; readonly running: boolean }
  /** When to send `inactivity-check`; undefined disarms. */
  | { readonly type: 'inactivity-timer'; readonly at: number | undefined }
  /** Learn this dashboard's title and folder (answer with `identity` or `identity-unavailable`). */
  | { readonly type: 'lookup-identity'; readonly uid: string };

export interface Step {
  readonly state: MachineState;
  readonly effects: readonly Effect[];
}

/** Identities remembered from Grafana's events (a user opening more dashboards than this gets lookups). */
const KNOWN_IDENTITIES = 50;
/** Records held for a dashboard not yet named; past this the session goes on without the name. */
export const MAX_HELD_RECORDS = 500;
/** A `data-request` counts this many queries at most (its `totalQueries`): one panel's refIds. */
export const MAX_QUERIES_PER_REQUEST = 100;

/**
 * What kind of page a location is. Only saved dashboards viewed by people count: `/d-solo/` is the
 * image renderer or an embed, snapshots and public dashboards have no Grafana user, a new or imported
 * dashboard has no uid yet.
 */
export function classifyPath(pathname: string): PageKind {
  if (pathname.startsWith('/d-solo/')) {
    return { kind: 'skipped', reason: 'solo' };
  }
  if (pathname.startsWith('/dashboard/snapshot/')) {
    return { kind: 'skipped', reason: 'snapshot' };
  }
  if (pathname.startsWith('/public-dashboards/') || pathname.startsWith('/dashboard/public/')) {
    return { kind: 'skipped', reason: 'public' };
  }
  if (
    pathname === '/dashboard/new' ||
    pathname.startsWith('/dashboard/new/') ||
    pathname.startsWith('/dashboard/import')
  ) {
    return { kind: 'skipped', reason: 'new' };
  }
  if (pathname === '/' || pathname === '') {
    return { kind: 'home' };
  }
  const match = /^\/d\/([^/?#]+)/.exec(pathname);
  if (match?.[1]) {
    try {
      return { kind: 'dashboard', uid: decodeURIComponent(match[1]) };
    } catch {
      return { kind: 'other' };
    }
  }
  return { kind: 'other' };
}

/** `render=1` in a location's query: the image renderer (reports, image export) loading a dashboard. */
export function isRenderFlag(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 'true';
}

export function initialState(input: {
  readonly at: number;
  readonly settings: MachineSettings;
  readonly engagement: EngagementState;
  readonly stored: StoredSession | undefined;
  readonly render: boolean;
}): MachineState {
  return {
    settings: input.settings,
    zeroTouch: false,
    render: input.render,
    location: { pathname: '', page: { kind: 'other' }, variables: new Map(), timeRange: '', timeZone: '' },
    panel: undefined,
    homeUid: undefined,
    known: new Map(),
    engagement: { state: input.engagement, since: input.at, credited: input.at },
    idle: false,
    stored: input.stored,
    session: undefined,
    skipped: undefined,
  };
}

/** A state being stepped: the effects collect here. */
class Transition {
  readonly effects: Effect[] = [];
  constructor(public state: MachineState) {}

  set(patch: Partial<MachineState>): void {
    this.state = { ...this.state, ...patch };
  }

  setSession(patch: Partial<Session>): void {
    const session = this.state.session;
    if (session) {
      this.set({ session: { ...session, ...patch } });
    }
  }

  emit(effect: Effect): void {
    this.effects.push(effect);
  }

  // ---- recording ---------------------------------------------------------------------------------

  /** Records for the running session, or holds the record until its identity is known. */
  record(metric: MetricName, value: number, extra: Attributes = {}): void {
    const session = this.state.session;
    if (!session) {
      return;
    }
    if (session.identity === undefined && session.held.length < MAX_HELD_RECORDS) {
      this.setSession({ held: [...session.held, { metric, value, extra }] });
      return;
    }
    if (session.identity === undefined) {
      this.release();
    }
    this.emit({ type: 'record', metric, value, attributes: { ...this.attributes(session), ...extra } });
  }

  attributes(session: Session): Attributes {
    const attributes: Attributes = {
      [ATTR.DASHBOARD_UID]: session.uid,
      [ATTR.DASHBOARD_NAME]: session.identity?.title ?? this.panelFor(session.uid)?.title ?? '',
      [ATTR.DASHBOARD_FOLDER]: session.identity?.folder ?? '',
      [ATTR.DASHBOARD_TIMEZONE]: this.panelFor(session.uid)?.timeZone || this.state.location.timeZone,
    };
    const identity = this.state.settings.identity;
    if (identity) {
      attributes[ATTR.USER_LOGIN] = identity.login;
      attributes[ATTR.USER_NAME] = identity.name;
    }
    return attributes;
  }

  panelFor(uid: string): PanelContext | undefined {
    const panel = this.state.panel;
    return panel && (panel.uid === '' || panel.uid === uid) ? panel : undefined;
  }

  /** Gives the session its identity (once) and records what was held for it. */
  identify(identity: DashboardIdentity): void {
    const session = this.state.session;
    if (!session || session.identity !== undefined) {
      return;
    }
    this.setSession({ identity, held: [] });
    for (const h of session.held) {
      this.record(h.metric, h.value, h.extra);
    }
  }

  /** Records what is held with what is known: the page must send now. */
  release(): void {
    const session = this.state.session;
    if (!session || session.identity !== undefined) {
      return;
    }
    const title = this.panelFor(session.uid)?.title ?? '';
    this.identify({ title, folder: '' });
  }

  // ---- engagement --------------------------------------------------------------------------------

  /** Credits the time in the current state up to `at` to the running session (time outside one is nobody's). */
  settle(at: number): void {
    const e = this.state.engagement;
    const seconds = Math.max(0, at - e.credited) / 1000;
    this.set({ engagement: { ...e, credited: Math.max(e.credited, at) } });
    if (seconds > 0) {
      this.record(METRIC.ENGAGED_TIME, seconds, { [ATTR.ENGAGEMENT_STATE]: e.state });
    }
  }

  changeEngagement(next: EngagementState, at: number): void {
    const e = this.state.engagement;
    if (next === e.state) {
      return;
    }
    this.settle(at);
    this.set({ engagement: { state: next, since: Math.max(e.since, at), credited: this.state.engagement.credited } });
  }

  // ---- sessions ----------------------------------------------------------------------------------

  /** The dashboard uid the page shows and that this host counts, or why none. */
  target(): { uid: string } | { skipped: string } {
    const s = this.state;
    if (s.render) {
      return { skipped: 'image renderer' };
    }
    const page = s.location.page;
    if (page.kind === 'skipped') {
      return { skipped: page.reason };
    }
    if (page.kind === 'other') {
      return { skipped: 'not a dashboard' };
    }
    const urlUid = page.kind === 'dashboard' ? page.uid : s.homeUid;
    if (s.zeroTouch) {
      const uid = urlUid || s.panel?.uid || '';
      return uid === '' ? { skipped: 'home dashboard not identified yet' } : { uid };
    }
    // The panel alone: only where it is mounted, and only for the dashboard the URL shows (the panel
    // of the dashboard being left is still mounted for a moment when the URL has moved on).
    if (!s.panel) {
      return { skipped: 'no panel on this page' };
    }
    if (page.kind === 'dashboard' && s.panel.uid !== '' && s.panel.uid !== page.uid) {
      return { skipped: 'the panel is of another dashboard' };
    }
    const uid = s.panel.uid || urlUid || '';
    return uid === '' ? { skipped: 'no dashboard uid (unsaved dashboard)' } : { uid };
  }

  /** Starts (or resumes) a session if the page shows a dashboard that counts and none runs. */
  maybeStart(at: number): void {
    const s = this.state;
    if (s.session || s.idle) {
      return;
    }
    const target = this.target();
    if ('skipped' in target) {
      this.set({ skipped: target.skipped });
      return;
    }
    const uid = target.uid;
    const stored = s.stored;
    const resumable =
      stored !== undefined &&
      stored.dashboardUid === uid &&
      at - stored.lastSeenAt >= 0 &&
      at - stored.lastSeenAt <= s.settings.inactivityMs;
    // A stored session is for the first page of this tab only: gone once read, so a duplicate of
    // this tab (which copies sessionStorage) cannot resume it too.
    this.set({ stored: undefined, skipped: undefined });
    if (stored !== undefined) {
      this.emit({ type: 'store', session: undefined });
    }
    // Time before the session is nobody's.
    this.set({ engagement: { ...this.state.engagement, credited: Math.max(this.state.engagement.credited, at) } });
    const known = s.known.get(uid) ?? (resumable ? stored.identity : undefined);
    const session: Session = {
      id: resumable ? stored.id : newSessionId(),
      uid,
      pathname: s.location.pathname,
      startedAt: resumable ? stored.startedAt : at,
      durationObserved: resumable ? stored.durationObserved : false,
      identity: known,
      held: [],
      variables: s.location.variables,
      timeRange: s.location.timeRange,
    };
    this.set({ session });
    if (!resumable) {
      this.record(METRIC.SESSIONS, 1);
      this.recordVariables(session.variables);
      const range = this.state.panel?.timeRange || s.location.timeRange;
      this.setSession({ timeRange: '' });
      this.recordTimeRange(range);
    } else {
      // The user chose nothing by reloading.
      this.setSession({ timeRange: this.state.panel?.timeRange || s.location.timeRange });
    }
    this.emit({ type: 'heartbeat-timer', running: true });
    if (known === undefined) {
      this.emit({ type: 'lookup-identity', uid });
    }
    if (this.state.engagement.state === 'hidden') {
      this.armInactivity();
    }
  }

  end(reason: 'navigation' | 'inactivity' | 'pagehide', at: number): void {
    const session = this.state.session;
    if (!session) {
      return;
    }
    this.settle(at);
    this.release();
    if (!this.state.session!.durationObserved) {
      this.record(METRIC.SESSION_DURATION, Math.max(0, at - session.startedAt) / 1000);
    }
    const ended = this.state.session!;
    // Only a page going away leaves its session to the next page of the tab (a reload, or the back/forward cache).
    const stored: StoredSession | undefined =
      reason === 'pagehide'
        ? {
            id: ended.id,
            dashboardUid: ended.uid,
            startedAt: ended.startedAt,
            lastSeenAt: at,
            durationObserved: true,
            ...(ended.identity ? { identity: ended.identity } : {}),
          }
        : undefined;
    this.emit({ type: 'store', session: stored });
    this.set({ session: undefined, stored });
    this.emit({ type: 'heartbeat-timer', running: false });
    this.emit({ type: 'inactivity-timer', at: undefined });
    if (reason !== 'pagehide') {
      this.emit({ type: 'flush', unloading: false });
    }
  }

  recordVariables(selection: VariableSelection): void {
    for (const [name, values] of selection) {
      for (const value of values) {
        this.record(METRIC.VARIABLE_SELECTIONS, 1, { [ATTR.VARIABLE_NAME]: name, [ATTR.VARIABLE_VALUE]: value });
      }
    }
  }

  recordTimeRange(label: string): void {
    const session = this.state.session;
    if (!session || label === '' || label === session.timeRange) {
      return;
    }
    this.setSession({ timeRange: label });
    this.record(METRIC.TIME_RANGE_SELECTIONS, 1, { [ATTR.TIME_RANGE]: label });
  }

  // ---- inactivity --------------------------------------------------------------------------------

  armInactivity(): void {
    this.emit({ type: 'inactivity-timer', at: this.state.engagement.since + this.state.settings.inactivityMs });
  }

  /** Ends the session if the tab has been hidden past the timeout; true if it did. */
  checkInactivity(at: number): boolean {
    const { session, engagement, settings } = this.state;
    if (!session || engagement.state !== 'hidden') {
      return false;
    }
    const deadline = engagement.since + settings.inactivityMs;
    if (at < deadline) {
      return false;
    }
    // Background timers are throttled and may fire late: the session ended at the deadline, not now.
    this.end('inactivity', deadline);
    this.set({ idle: true });
    return true;
  }
}

/** A short random id (for the debug view and the stored session only: never a metric attribute). */
export function newSessionId(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function remember(
  known: ReadonlyMap<string, DashboardIdentity>,
  uid: string,
  identity: DashboardIdentity
): ReadonlyMap<string, DashboardIdentity> {
  const next = new Map(known);
  next.delete(uid);
  next.set(uid, identity);
  while (next.size > KNOWN_IDENTITIES) {
    next.delete(next.keys().next().value!);
  }
  return next;
}

export function step(state: MachineState, event: MachineEvent): Step {
  const t = new Transition(state);
  switch (event.type) {
    case 'settings': {
      t.set({ settings: event.settings, ...(event.zeroTouch === undefined ? {} : { zeroTouch: event.zeroTouch }) });
      t.maybeStart(event.at);
      break;
    }
    case 'location': {
      const page = classifyPath(event.pathname);
      const session = t.state.session;
      t.set({
        render: t.state.render || event.render,
        location: {
          pathname: event.pathname,
          page,
          variables: event.variables,
          timeRange: event.timeRange,
          timeZone: event.timeZone,
        },
        // A new page of the SPA: the home dashboard's uid is learnt again.
        ...(event.pathname === t.state.location.pathname ? {} : { homeUid: undefined }),
      });
      if (session) {
        // Same page (only the query changed), or the same dashboard under another slug: still this session.
        const same =
          !event.render &&
          (event.pathname === session.pathname || (page.kind === 'dashboard' && page.uid === session.uid));
        if (!same) {
          t.end('navigation', event.at);
        } else {
          const changed = changedVariables(session.variables, event.variables);
          t.setSession({ variables: new Map([...session.variables, ...event.variables]) });
          t.recordVariables(changed);
          t.recordTimeRange(event.timeRange);
          break;
        }
      }
      t.maybeStart(event.at);
      break;
    }
    case 'panel': {
      const session = t.state.session;
      const previous = t.state.panel;
      t.set({ panel: event.panel });
      if (!event.panel) {
        break;
      } // unmounting (view panel, edit, a collapsed row) does not end the session
      if (session && event.panel.uid !== '' && event.panel.uid !== session.uid && !t.state.zeroTouch) {
        t.end('navigation', event.at);
      }
      if (t.state.session) {
        if (previous?.timeRange !== event.panel.timeRange) {
          t.recordTimeRange(event.panel.timeRange);
        }
      } else {
        t.maybeStart(event.at);
      }
      break;
    }
    case 'identity': {
      t.set({ known: remember(t.state.known, event.uid, event.identity) });
      if (event.fromView && t.state.location.page.kind === 'home' && t.state.homeUid === undefined) {
        t.set({ homeUid: event.uid });
        t.maybeStart(event.at);
      }
      if (t.state.session?.uid === event.uid) {
        t.identify(event.identity);
      }
      break;
    }
    case 'identity-unavailable': {
      if (t.state.session?.uid === event.uid) {
        t.release();
      }
      break;
    }
    case 'engagement': {
      const before = t.state.engagement.state;
      if (event.state === before) {
        break;
      }
      if (before === 'hidden') {
        t.checkInactivity(event.at);
      }
      t.changeEngagement(event.state, event.at);
      if (event.state === 'hidden') {
        if (t.state.session) {
          t.armInactivity();
        }
        // The tab may never come back: send what is pending while the page can still do so.
        t.release();
        t.emit({ type: 'flush', unloading: false });
      } else {
        t.emit({ type: 'inactivity-timer', at: undefined });
        // Seen again: a session ended by inactivity gives way to a new one.
        t.set({ idle: false });
        t.maybeStart(event.at);
      }
      break;
    }
    case 'heartbeat': {
      if (!t.state.session || t.checkInactivity(event.at)) {
        break;
      }
      t.settle(event.at);
      if (t.state.engagement.state !== 'hidden') {
        t.record(METRIC.HEARTBEATS, 1);
      }
      break;
    }
    case 'inactivity-check': {
      t.checkInactivity(event.at);
      break;
    }
    case 'pagehide': {
      t.end('pagehide', event.at);
      t.emit({ type: 'flush', unloading: true });
      break;
    }
    case 'pageshow': {
      // Back from the back/forward cache: the page lives on, and so may its session.
      if (!event.persisted) {
        break;
      }
      t.emit({ type: 'resumed' });
      t.changeEngagement(event.state, event.at);
      // The session ended at pagehide; this page is its continuation, as a reload would be.
      t.maybeStart(event.at);
      break;
    }
    case 'query': {
      const session = t.state.session;
      if (!session || (event.uid !== '' && event.uid !== session.uid)) {
        break;
      }
      const extra: Attributes = { [ATTR.DATASOURCE_TYPE]: event.datasourceType || 'unknown' };
      t.record(METRIC.QUERIES, Math.min(MAX_QUERIES_PER_REQUEST, Math.max(1, Math.floor(event.queries))), extra);
      if (event.failed) {
        t.record(METRIC.QUERY_ERRORS, 1, extra);
      }
      if (event.durationSeconds !== undefined && Number.isFinite(event.durationSeconds) && event.durationSeconds >= 0) {
        t.record(METRIC.QUERY_DURATION, event.durationSeconds, extra);
      }
      break;
    }
  }
  return { state: t.state, effects: t.effects };
}

/** What the debug view shows. */
export function debugSummary(state: MachineState): {
  sessionId: string | undefined;
  dashboardUid: string | undefined;
  engagement: EngagementState;
  skipped: string | undefined;
} {
  return {
    sessionId: state.session?.id,
    dashboardUid: state.session?.uid,
    engagement: state.engagement.state,
    skipped: state.session ? undefined : state.skipped,
  };
}
