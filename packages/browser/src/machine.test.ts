/**
 * The session machine on its own: events in, state and effects out, no clock, storage or Grafana.
 */
import { describe, expect, test } from 'vitest';
import { initialState, step, type Effect, type MachineEvent } from './machine.ts';
import { ATTR, METRIC } from './names.ts';

const T0 = Date.UTC(2026, 0, 5, 9);
const SETTINGS = { inactivityMs: 30 * 60_000, identity: undefined };
const none = new Map<string, readonly string[]>();

function run(
  events: readonly MachineEvent[],
  state = initialState({ at: T0, settings: SETTINGS, engagement: 'focused', stored: undefined, render: false })
) {
  const effects: Effect[] = [];
  for (const event of events) {
    const next = step(state, event);
    state = next.state;
    effects.push(...next.effects);
  }
  return { state, effects };
}

const at = (seconds: number) => T0 + seconds * 1000;
const app: MachineEvent = { type: 'settings', at: T0, settings: SETTINGS, zeroTouch: true };
const go = (seconds: number, pathname: string, variables = none, timeRange = ''): MachineEvent => ({
  type: 'location',
  at: at(seconds),
  pathname,
  render: false,
  variables,
  timeRange,
  timeZone: '',
});
const named = (seconds: number, uid: string, title: string, folder: string): MachineEvent => ({
  type: 'identity',
  at: at(seconds),
  uid,
  identity: { title, folder },
  fromView: true,
});

function records(effects: readonly Effect[], metric: string) {
  return effects.filter((e): e is Extract<Effect, { type: 'record' }> => e.type === 'record' && e.metric === metric);
}

describe('the session machine', () => {
  test('is pure: the same events give the same effects, and the input state is not changed', () => {
    const events = [app, go(0, '/d/a/x'), named(1, 'a', 'A', 'F'), { type: 'heartbeat', at: at(60) } as const];
    const start = initialState({ at: T0, settings: SETTINGS, engagement: 'focused', stored: undefined, render: false });
    const frozen = JSON.stringify(start, (_k, v) => (v instanceof Map ? [...v] : v));
    const strip = (effects: Effect[]) => effects.map((e) => (e.type === 'store' ? { type: 'store' } : e));
    expect(strip(run(events, start).effects)).toEqual(strip(run(events, start).effects));
    expect(JSON.stringify(start, (_k, v) => (v instanceof Map ? [...v] : v))).toBe(frozen);
  });

  test('holds a session’s records until its dashboard is named, then records them with title and folder', () => {
    const held = run([
      app,
      {
        ...(go(0, '/d/a/x', new Map([['env', ['prod']]]), 'now-6h') as Extract<MachineEvent, { type: 'location' }>),
        timeZone: 'utc',
      },
    ]);
    expect(held.effects.filter((e) => e.type === 'record')).toEqual([]);
    expect(held.effects).toContainEqual({ type: 'lookup-identity', uid: 'a' });
    const named_ = step(held.state, named(1, 'a', 'A', 'Ops'));
    const recorded = named_.effects.filter((e) => e.type === 'record');
    expect(recorded.map((e) => (e.type === 'record' ? e.metric : ''))).toEqual([
      METRIC.SESSIONS,
      METRIC.VARIABLE_SELECTIONS,
      METRIC.TIME_RANGE_SELECTIONS,
    ]);
    for (const e of recorded) {
      expect(e.type === 'record' && e.attributes).toMatchObject({
        [ATTR.DASHBOARD_UID]: 'a',
        [ATTR.DASHBOARD_NAME]: 'A',
        [ATTR.DASHBOARD_FOLDER]: 'Ops',
        // The app has no panel to ask: the time zone comes from the URL Grafana writes.
        [ATTR.DASHBOARD_TIMEZONE]: 'utc',
      });
    }
  });

  test('without the app, a page with no panel starts nothing; Explore never does', () => {
    expect(run([go(0, '/d/a/x')]).state.session).toBeUndefined();
    expect(run([app, go(0, '/explore')]).state.session).toBeUndefined();
    expect(run([app, go(0, '/explore')]).state.skipped).toBe('not a dashboard');
  });

  test('the session duration is observed once, at the first end', () => {
    const { effects, state } = run([
      app,
      go(0, '/d/a/x'),
      named(0, 'a', 'A', ''),
      { type: 'pagehide', at: at(30), persisted: true },
    ]);
    expect(records(effects, METRIC.SESSION_DURATION).map((e) => e.value)).toEqual([30]);
    // Back from the back/forward cache: the same session, already observed.
    const back = run([{ type: 'pageshow', at: at(40), persisted: true, state: 'focused' }, go(41, '/explore')], state);
    expect(records(back.effects, METRIC.SESSIONS)).toEqual([]);
    expect(records(back.effects, METRIC.SESSION_DURATION)).toEqual([]);
    expect(records(back.effects, METRIC.ENGAGED_TIME).map((e) => e.value)).toEqual([1]);
  });

  test('a tab hidden past the timeout ends its session at the deadline, not when the late timer fires', () => {
    const { effects } = run([
      app,
      go(0, '/d/a/x'),
      named(0, 'a', 'A', ''),
      { type: 'engagement', at: at(10), state: 'hidden' },
      { type: 'inactivity-check', at: at(10 + 3 * 3600) },
    ]);
    expect(records(effects, METRIC.SESSION_DURATION).map((e) => e.value)).toEqual([10 + 30 * 60]);
    expect(records(effects, METRIC.ENGAGED_TIME).map((e) => [e.attributes[ATTR.ENGAGEMENT_STATE], e.value])).toEqual([
      ['focused', 10],
      ['hidden', 30 * 60],
    ]);
  });

  test('a request counts its queries, capped; one from another dashboard is not this session’s', () => {
    const started = run([app, go(0, '/d/a/x'), named(0, 'a', 'A', '')]);
    const query = (uid: string, queries: number): MachineEvent => ({
      type: 'query',
      at: at(1),
      uid,
      queries,
      failed: false,
      datasourceType: 'loki',
      durationSeconds: 0.2,
    });
    const { effects } = run([query('a', 3), query('a', 1e9), query('b', 5)], started.state);
    expect(records(effects, METRIC.QUERIES).map((e) => e.value)).toEqual([3, 100]);
  });

  test('a render=1 location makes the page not count, even after it', () => {
    const { state } = run([
      app,
      { ...(go(0, '/d/a/x') as Extract<MachineEvent, { type: 'location' }>), render: true },
      go(5, '/d/b/y'),
    ]);
    expect(state.session).toBeUndefined();
    expect(state.skipped).toBe('image renderer');
  });
});
