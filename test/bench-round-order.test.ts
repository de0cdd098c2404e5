// bench:purge orders each round's contenders by a Williams design; a replay stays right behind the run it replays.
import { describe, expect, it } from 'vitest';
import { roundOrder, roundsPerCycle } from '../bench/round-order';

/** Over `rounds` rounds: how often each item ran at each position, and how often each ordered pair ran back to back. */
function tally(items: readonly string[], rounds: number, after?: ReadonlyMap<string, string>) {
  const positions = new Map<string, number[]>();
  const pairs = new Map<string, number>();
  for (let r = 0; r < rounds; r++) {
    const order = roundOrder(items, r, after);
    expect([...order].sort()).toEqual([...items].sort());
    order.forEach((x, i) => {
      const p = positions.get(x) ?? Array.from({ length: items.length }, () => 0);
      p[i]!++;
      positions.set(x, p);
      if (i > 0) pairs.set(`${order[i - 1]}>${x}`, (pairs.get(`${order[i - 1]}>${x}`) ?? 0) + 1);
    });
  }
  return { positions, pairs };
}

describe('bench round order', () => {
  for (const n of [2, 3, 4, 5, 6]) {
    it(`over one cycle of ${n} contenders, each runs at each position equally often and follows each other one equally often`, () => {
      const items = ['single', 'dbmaint', 'pt', 'naive', 'alone', 'variant'].slice(0, n);
      const cycle = roundsPerCycle(items);
      const { positions, pairs } = tally(items, cycle);
      for (const x of items) expect(positions.get(x)).toEqual(Array.from({ length: n }, () => cycle / n));
      for (const a of items) for (const b of items) if (a !== b) expect(pairs.get(`${a}>${b}`), `${a} then ${b}`).toBe(cycle / n);
    });
  }

  it('does not keep a contender behind the same one round after round (what a rotation does)', () => {
    // The load mode's five contenders over the benchmark's usual five rounds.
    const items = ['alone', 'single', 'dbmaint', 'pt', 'naive'];
    const { pairs } = tally(items, 5);
    for (const x of items) {
      const behind = [...pairs.entries()].filter(([k]) => k.endsWith(`>${x}`));
      expect(Math.max(...behind.map(([, v]) => v)), `${x}: ${JSON.stringify(behind)}`).toBeLessThanOrEqual(2);
      expect(behind.length, x).toBeGreaterThanOrEqual(3);
    }
  });

  it('keeps a follower right behind the contender it needs, and orders the pair as one', () => {
    const items = ['single', 'dbmaint', 'bare', 'pt', 'naive'];
    const after = new Map([['bare', 'dbmaint']]);
    expect(roundsPerCycle(items, after)).toBe(4);
    for (let r = 0; r < roundsPerCycle(items, after); r++) {
      const order = roundOrder(items, r, after);
      expect(order[order.indexOf('dbmaint') + 1], `round ${r}: ${order.join(' ')}`).toBe('bare');
    }
    // As four units, the pair follows (and is followed by) each other contender equally often.
    const { pairs } = tally(items, roundsPerCycle(items, after), after);
    for (const x of ['single', 'pt', 'naive']) {
      expect(pairs.get(`${x}>dbmaint`)).toBe(1);
      expect(pairs.get(`bare>${x}`)).toBe(1);
    }
  });

  it('refuses a follower of a follower (it would be dropped from the round)', () => {
    const after = new Map([
      ['bare', 'dbmaint'],
      ['bare2', 'bare'],
    ]);
    expect(() => roundOrder(['dbmaint', 'bare', 'bare2', 'pt'], 0, after)).toThrow(/follower cannot itself follow/);
  });

  it('treats a follower whose leader is not running as a contender of its own', () => {
    const after = new Map([['bare', 'dbmaint']]);
    expect([0, 1].map((r) => roundOrder(['single', 'bare'], r, after))).toEqual([
      ['single', 'bare'],
      ['bare', 'single'],
    ]);
  });
});
