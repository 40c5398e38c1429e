import { describe, expect, it } from 'vitest';
import { createAdmission, type AdmissionSettings } from './admission.ts';

function admission(overrides: Partial<AdmissionSettings> = {}) {
  let clock = 0;
  let used = 10;
  const control = createAdmission({
    maxRequestsPerSecond: 100,
    burst: 10,
    maxConcurrentRequests: 1000,
    maxHeapFraction: 0.8,
    retryAfterSeconds: 2,
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

function admitMany(control: ReturnType<typeof createAdmission>, n: number) {
  const results = Array.from({ length: n }, () => control.admit());
  for (const r of results) if (r.admitted) r.release();
  return results;
}

describe('admission', () => {
  it('admits the burst at once, then the rate, and refuses the rest with 429 and a Retry-After', () => {
    const { control, advance } = admission();
    const first = admitMany(control, 15);
    expect(first.filter((r) => r.admitted)).toHaveLength(10);
    expect(first[10]).toMatchObject({ admitted: false, status: 429, reason: 'rate_limited', retryAfterSeconds: 1 });
    advance(100); // 100/s → 10 more tokens
    expect(admitMany(control, 15).filter((r) => r.admitted)).toHaveLength(10);
  });

  it('holds the budget over time under 10× the offered rate', () => {
    const { control, advance } = admission({ burst: 1 });
    let admitted = 0;
    for (let ms = 0; ms < 10_000; ms++) {
      advance(1);
      admitted += admitMany(control, 1).filter((r) => r.admitted).length; // 1,000/s offered, budget 100/s
    }
    // Exactly the budget, 10 s × 100/s (the bucket's starting token is spent in the first millisecond).
    expect(admitted).toBe(1000);
  });

  it('refuses with 503 past the requests in flight, and admits again when one is released', () => {
    const { control } = admission({ maxConcurrentRequests: 2 });
    const a = control.admit();
    const b = control.admit();
    expect(control.admit()).toMatchObject({ admitted: false, status: 503, reason: 'too_many_in_flight', retryAfterSeconds: 2 });
    expect(control.inFlight).toBe(2);
    if (a.admitted) {
      a.release();
      a.release(); // a second release must not free a second slot
    }
    expect(control.inFlight).toBe(1);
    expect(control.admit().admitted).toBe(true);
    expect(control.admit().admitted).toBe(false);
    if (b.admitted) b.release();
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
    admitMany(control, 50);
    setHeapUsed(0);
    advance(100);
    expect(admitMany(control, 3).filter((r) => r.admitted)).toHaveLength(2);
  });
});
