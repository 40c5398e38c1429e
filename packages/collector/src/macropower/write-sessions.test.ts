import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { legacyDuration, newSessionTimes, gapCap, addEvent, type DurationSettings } from './session-duration.ts';
import { createWriteSessions, type WriteEvent, type WriteSessionsSettings } from './write-sessions.ts';

const T0 = 1_760_000_000;
const HOUR = 3600;

function sessions(overrides: Partial<WriteSessionsSettings> = {}) {
  let clock = T0 * 1000;
  const s = createWriteSessions({
    maxSessions: 1000,
    idleMs: 24 * 3_600_000,
    maxEvents: 128,
    sessionTimeoutSeconds: 0,
    now: () => clock,
    ...overrides,
  });
  return { s, advance: (ms: number) => void (clock += ms) };
}

const event = (type: WriteEvent['type'], at: number, extra: Partial<WriteEvent> = {}): WriteEvent => ({
  type,
  at,
  heartbeatInterval: 60,
  variables: new Map(),
  timeRange: '',
  ...extra,
});

/** Seconds credited over a sequence of events of one session. */
function credited(
  events: readonly WriteEvent[],
  overrides: Partial<WriteSessionsSettings> = {},
  key = 'user:a\u0000uuid-1'
): number {
  const { s } = sessions(overrides);
  return events.reduce((total, e) => total + s.track(key, e).credited, 0);
}

describe('the old server duration, credited event by event', () => {
  it('start and end two hours apart, no heartbeats: 7200 s, at the end', () => {
    const { s } = sessions();
    expect(s.track('k', event('start', T0))).toMatchObject({ started: true, credited: 0 });
    const end = s.track('k', event('end', T0 + 2 * HOUR));
    expect(end).toMatchObject({
      started: false,
      credited: 7200,
      endedDuration: 7200,
      window: { start: T0, end: T0 + 2 * HOUR },
    });
  });

  it('without heartbeats only an explicit session timeout caps end − start', () => {
    expect(credited([event('start', T0), event('end', T0 + 2 * HOUR)], { sessionTimeoutSeconds: HOUR })).toBe(HOUR);
  });

  it('heartbeats: each gap counts up to 1.25 × the heartbeat interval', () => {
    // Gaps 60, 60, 880 (a laptop asleep: capped at 75), 60.
    const events = [
      event('start', T0),
      event('heartbeat', T0 + 60),
      event('heartbeat', T0 + 120),
      event('heartbeat', T0 + 1000),
      event('end', T0 + 1060),
    ];
    expect(credited(events)).toBe(60 + 60 + 75 + 60);
    // An explicit timeout replaces the automatic cap.
    expect(credited(events, { sessionTimeoutSeconds: 300 })).toBe(60 + 60 + 300 + 60);
  });

  it('the cap follows the heartbeat interval the payload states', () => {
    const events = [
      event('start', T0, { heartbeatInterval: 3600 }),
      event('heartbeat', T0 + 7200, { heartbeatInterval: 3600 }),
    ];
    expect(credited(events)).toBe(4500);
  });

  it('out-of-order heartbeats give the same total as in order', () => {
    const inOrder = [
      event('start', T0),
      event('heartbeat', T0 + 60),
      event('heartbeat', T0 + 120),
      event('heartbeat', T0 + 180),
      event('end', T0 + 200),
    ];
    const shuffled = [inOrder[0]!, inOrder[3]!, inOrder[4]!, inOrder[1]!, inOrder[2]!];
    expect(credited(inOrder)).toBe(200);
    expect(credited(shuffled)).toBe(200);
  });

  it('any arrival order after the first heartbeat credits exactly the old server total', () => {
    const settings: DurationSettings = { sessionTimeoutSeconds: 0, maxEvents: 128 };
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 900 }),
        fc.nat(),
        (offsets, endOffset, seed) => {
          const [first, ...rest] = offsets.map((o) => event('heartbeat', T0 + o));
          const later = [...rest, event('end', T0 + endOffset)];
          // A shuffle fixed by the seed, so a failure replays.
          const order = later
            .map((e, i) => ({ e, k: (i * 7919 + seed) % 101 }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.e);
          const total = credited([event('start', T0), first!, ...order]);
          const batch = newSessionTimes(T0);
          for (const e of [event('start', T0), first!, ...later]) {
            addEvent(batch, e.type, e.at, settings, 60);
          }
          expect(total).toBeCloseTo(legacyDuration(batch, settings, gapCap(settings, 60)), 9);
        }
      )
    );
  });

  it('a heartbeat arriving after its end never takes seconds back', () => {
    const { s } = sessions();
    s.track('k', event('start', T0));
    expect(s.track('k', event('end', T0 + 600)).credited).toBe(600);
    // The old server would now sum capped gaps (60 + 75): less than what was counted, which stays.
    expect(s.track('k', event('heartbeat', T0 + 60)).credited).toBe(0);
  });

  it('a repeated start counts once and credits nothing', () => {
    const { s } = sessions();
    expect(s.track('k', event('start', T0)).started).toBe(true);
    s.track('k', event('heartbeat', T0 + 60));
    expect(s.track('k', event('start', T0 - 500))).toMatchObject({ started: false, credited: 0 });
    expect(s.track('k', event('heartbeat', T0 + 120)).credited).toBe(60);
  });

  it('a repeated end is ignored', () => {
    const { s } = sessions();
    s.track('k', event('start', T0));
    expect(s.track('k', event('end', T0 + 100)).endedDuration).toBe(100);
    expect(s.track('k', event('end', T0 + 900))).toMatchObject({ credited: 0, endedDuration: undefined });
  });

  it('a missed start: tracked from the first event, no session counted, no session duration observed', () => {
    const { s } = sessions();
    expect(s.track('k', event('heartbeat', T0 + 600))).toMatchObject({ started: false, credited: 0 });
    expect(s.track('k', event('heartbeat', T0 + 660)).credited).toBe(60);
    expect(s.track('k', event('end', T0 + 700))).toMatchObject({
      started: false,
      credited: 40,
      endedDuration: undefined,
    });
  });

  it('an end alone credits nothing', () => {
    const { s } = sessions();
    expect(s.track('k', event('end', T0 + 600))).toMatchObject({
      started: false,
      credited: 0,
      endedDuration: undefined,
    });
  });

  it('a start arriving after its heartbeats still counts the session and its seconds', () => {
    const { s } = sessions();
    s.track('k', event('heartbeat', T0 + 60));
    expect(s.track('k', event('start', T0))).toMatchObject({ started: true, credited: 60 });
  });

  it('sessions of two senders with the same uuid stay apart', () => {
    const { s } = sessions();
    s.track('user:a\u0000u', event('start', T0));
    expect(s.track('user:b\u0000u', event('start', T0 + 10)).started).toBe(true);
    // b cannot end a's session (nor credit it anything): a's own end still counts all of it.
    s.track('user:b\u0000u', event('end', T0 + 5000));
    expect(s.track('user:a\u0000u', event('end', T0 + 100)).endedDuration).toBe(100);
  });

  it('no uuid: a start counts, nothing is tracked', () => {
    const { s } = sessions();
    expect(s.track(undefined, event('start', T0))).toMatchObject({ started: true, credited: 0 });
    expect(s.track(undefined, event('heartbeat', T0 + 60))).toMatchObject({ started: false, credited: 0 });
    expect(s.track(undefined, event('end', T0 + 120))).toMatchObject({ credited: 0, endedDuration: undefined });
    expect(s.size()).toBe(0);
  });
});

describe('bounds', () => {
  it('holds at most maxSessions; the least recently seen goes first', () => {
    const { s } = sessions({ maxSessions: 2 });
    s.track('a', event('start', T0));
    s.track('b', event('start', T0));
    s.track('a', event('heartbeat', T0 + 60));
    s.track('c', event('start', T0));
    expect(s.size()).toBe(2);
    expect(s.track('a', event('end', T0 + 120)).endedDuration).toBe(120);
    // b was forgotten: its end is that of an unknown session.
    expect(s.track('b', event('end', T0 + 100))).toMatchObject({ credited: 0, endedDuration: undefined });
  });

  it('forgets a session idle longer than the expiry', () => {
    const { s, advance } = sessions({ idleMs: 60_000 });
    s.track('k', event('start', T0));
    advance(61_000);
    expect(s.track('k', event('end', T0 + 61)).endedDuration).toBeUndefined();
  });

  it('keeps at most maxEvents times; in-order events still add up exactly', () => {
    const events = [
      event('start', T0),
      ...Array.from({ length: 50 }, (_, i) => event('heartbeat', T0 + 60 * (i + 1))),
      event('end', T0 + 60 * 51),
    ];
    expect(credited(events, { maxEvents: 4 })).toBe(60 * 51);
  });
});

describe('selections', () => {
  const v = (entries: Record<string, string[]>) => new Map(Object.entries(entries));

  it('all at the start, then only what changed', () => {
    const { s } = sessions();
    const start = s.track('k', event('start', T0, { variables: v({ a: ['1'], b: ['x', 'y'] }), timeRange: 'now-6h' }));
    expect([...start.variables]).toEqual([
      ['a', ['1']],
      ['b', ['x', 'y']],
    ]);
    expect(start.timeRange).toBe('now-6h');
    const same = s.track(
      'k',
      event('heartbeat', T0 + 60, { variables: v({ a: ['1'], b: ['x', 'y'] }), timeRange: 'now-6h' })
    );
    expect([...same.variables]).toEqual([]);
    expect(same.timeRange).toBe('');
    const changed = s.track(
      'k',
      event('heartbeat', T0 + 120, { variables: v({ a: ['2'], b: ['x', 'y'] }), timeRange: 'absolute' })
    );
    expect([...changed.variables]).toEqual([['a', ['2']]]);
    expect(changed.timeRange).toBe('absolute');
  });

  it('a late event does not count its older view as a change', () => {
    const { s } = sessions();
    s.track('k', event('start', T0, { variables: v({ a: ['1'] }) }));
    s.track('k', event('heartbeat', T0 + 120, { variables: v({ a: ['2'] }) }));
    expect([...s.track('k', event('heartbeat', T0 + 60, { variables: v({ a: ['1'] }) })).variables]).toEqual([]);
  });

  it('an unknown session records no selections: its start recorded them where it was seen', () => {
    const { s } = sessions();
    const first = s.track('k', event('heartbeat', T0, { variables: v({ a: ['1'] }), timeRange: 'now-1h' }));
    expect([...first.variables]).toEqual([]);
    expect(first.timeRange).toBe('');
  });
});
