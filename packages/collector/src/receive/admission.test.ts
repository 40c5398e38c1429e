import { describe, expect, it } from 'vitest';
import { createAdmission, type AdmissionSettings, type AdmissionTicket } from './admission.ts';

function admission(overrides: Partial<AdmissionSettings> = {}) {
  let clock = 0;
  let used = 10;
  const control = createAdmission({
    maxRequestsPerSecond: 100,
    burst: 10,
    maxConcurrentRequests: 1000,
    maxHeapFraction: 0.8,
    retryAfterSeconds: 2,
    perAddress: { maxRequestsPerSecond: 5, burst: 3 },
    maxConcurrentRequestsPerSender: 1000,
    now: () => clock,
    heap: () => ({ used, limit: 100 }),
    ...overrides,
  });
  return {
    control,
    advance: (ms: number) => (clock += ms),
    setHeapUsed: (value: number) => (used = value),
  };
}

type Control = ReturnType<typeof createAdmission>;

function ticket(control: Control): AdmissionTicket {
  const t = control.admit();
  if (!t.admitted) {
    throw new Error(`not admitted: ${t.reason}`);
  }
  return t;
}

/** n requests of senders known to be allowed, each released at once; the refusals (undefined when let through). */
function mainRequests(control: Control, n: number) {
  return Array.from({ length: n }, () => {
    const t = ticket(control);
    const refusal = t.takeMainToken();
    t.release();
    return refusal;
  });
}

/** n requests not (yet) known to be allowed, from one address. */
function addressRequests(control: Control, address: string, n: number) {
  return Array.from({ length: n }, () => {
    const t = ticket(control);
    const refusal = t.takeAddressToken(address);
    t.release();
    return refusal;
  });
}

const passed = (refusals: readonly unknown[]) => refusals.filter((r) => r === undefined).length;

describe('admission', () => {
  it('main budget: admits the burst at once, then the rate, and refuses the rest with 429 and a Retry-After', () => {
    const { control, advance } = admission();
    const first = mainRequests(control, 15);
    expect(passed(first)).toBe(10);
    expect(first[10]).toMatchObject({ admitted: false, status: 429, reason: 'rate_limited', retryAfterSeconds: 1 });
    advance(100); // 100/s → 10 more tokens
    expect(passed(mainRequests(control, 15))).toBe(10);
  });

  it('main budget: holds over time under 10× the offered rate', () => {
    const { control, advance } = admission({ burst: 1 });
    let admitted = 0;
    for (let ms = 0; ms < 10_000; ms++) {
      advance(1);
      admitted += passed(mainRequests(control, 1)); // 1,000/s offered, budget 100/s
    }
    // Exactly the budget, 10 s × 100/s (the bucket's starting token is spent in the first millisecond).
    expect(admitted).toBe(1000);
  });

  it('requests not known to be allowed draw on their address budget and never on the main one', () => {
    const { control, advance } = admission();
    const flood = addressRequests(control, '198.51.100.7', 1000);
    expect(passed(flood)).toBe(3);
    expect(flood[3]).toMatchObject({
      admitted: false,
      status: 429,
      reason: 'address_rate_limited',
      retryAfterSeconds: 1,
    });
    // The flood took nothing from the signed-in users' budget…
    expect(passed(mainRequests(control, 10))).toBe(10);
    // …nor from another address's.
    expect(passed(addressRequests(control, '198.51.100.8', 3))).toBe(3);
    // An address's budget refills at its own rate: 5/s.
    advance(200);
    expect(passed(addressRequests(control, '198.51.100.7', 3))).toBe(1);
  });

  it('budgets an IPv6 client by its /64, whatever its spelling', () => {
    const { control } = admission();
    expect(passed(addressRequests(control, '2001:db8:1:2::1', 2))).toBe(2);
    expect(passed(addressRequests(control, '2001:0db8:0001:0002:ffff:ffff:ffff:ffff', 2))).toBe(1);
    expect(passed(addressRequests(control, '2001:db8:1:3::1', 3))).toBe(3);
  });

  it('tracks at most maxAddresses: the least recently seen one starts over with a full bucket', () => {
    const { control } = admission({ maxAddresses: 2 });
    addressRequests(control, '192.0.2.1', 3);
    addressRequests(control, '192.0.2.2', 3);
    expect(passed(addressRequests(control, '192.0.2.2', 1))).toBe(0);
    addressRequests(control, '192.0.2.3', 3); // pushes 192.0.2.1 out
    expect(passed(addressRequests(control, '192.0.2.1', 3))).toBe(3);
  });

  it('refuses with 503 past the requests in flight, and admits again when one is released', () => {
    const { control } = admission({ maxConcurrentRequests: 2 });
    const a = control.admit();
    const b = control.admit();
    expect(control.admit()).toMatchObject({
      admitted: false,
      status: 503,
      reason: 'too_many_in_flight',
      retryAfterSeconds: 2,
    });
    expect(control.inFlight).toBe(2);
    if (a.admitted) {
      a.release();
      a.release(); // a second release must not free a second slot
    }
    expect(control.inFlight).toBe(1);
    expect(control.admit().admitted).toBe(true);
    expect(control.admit().admitted).toBe(false);
    if (b.admitted) {
      b.release();
    }
  });

  it("refuses a sender's requests past its cap with 429, leaves other senders alone, and frees the slot on release", () => {
    const { control } = admission({ maxConcurrentRequestsPerSender: 2 });
    const held = [ticket(control), ticket(control)];
    for (const t of held) {
      expect(t.enterSender('user:alice')).toBeUndefined();
    }
    const third = ticket(control);
    expect(third.enterSender('user:alice')).toMatchObject({
      admitted: false,
      status: 429,
      reason: 'sender_too_many_in_flight',
      retryAfterSeconds: 2,
    });
    third.release();
    const other = ticket(control);
    expect(other.enterSender('user:bob')).toBeUndefined();
    held[0]!.release();
    held[0]!.release();
    const again = ticket(control);
    expect(again.enterSender('user:alice')).toBeUndefined();
    expect(ticket(control).enterSender('user:alice')).toMatchObject({ reason: 'sender_too_many_in_flight' });
    for (const t of [held[1]!, other, again]) {
      t.release();
    }
  });

  it('sheds with 503 while the heap is over its share, and recovers when it is not', () => {
    const { control, advance, setHeapUsed } = admission();
    setHeapUsed(81);
    expect(control.admit()).toMatchObject({ admitted: false, status: 503, reason: 'memory_pressure' });
    setHeapUsed(50);
    // The heap is sampled at most every 100 ms, so the next look is what lets requests in again.
    expect(control.admit().admitted).toBe(false);
    advance(100);
    expect(control.admit().admitted).toBe(true);
  });

  it('a refusal costs no token', () => {
    const { control, setHeapUsed, advance } = admission({ burst: 2 });
    setHeapUsed(99);
    for (let i = 0; i < 50; i++) {
      expect(control.admit().admitted).toBe(false);
    }
    setHeapUsed(0);
    advance(100);
    expect(passed(mainRequests(control, 3))).toBe(2);
  });
});
