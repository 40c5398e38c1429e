import { describe, expect, it } from 'vitest';
import { memoize } from './memo.ts';

describe('memoize', () => {
  it('works a key out once, holds at most `max` keys, and never holds an over-long one', () => {
    const calls: string[] = [];
    const upper = memoize((key) => (calls.push(key), key.toUpperCase()), 2, 5);
    expect([upper('a'), upper('a'), upper('b'), upper('a')]).toEqual(['A', 'A', 'B', 'A']);
    expect(calls).toEqual(['a', 'b']);
    // A third key starts the memo again.
    expect(upper('c')).toBe('C');
    expect(upper('a')).toBe('A');
    expect(calls).toEqual(['a', 'b', 'c', 'a']);
    expect([upper('longer'), upper('longer')]).toEqual(['LONGER', 'LONGER']);
    expect(calls.filter((k) => k === 'longer')).toHaveLength(2);
  });
});
