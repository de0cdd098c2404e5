// bench:purge rotates its contenders from round to round; a replay stays right behind the run it replays.
import { describe, expect, it } from 'vitest';
import { roundOrder } from '../bench/round-order';

describe('bench round order', () => {
  it('rotates by one place per round, so that each contender runs first once every n rounds', () => {
    const items = ['single', 'dbmaint', 'pt', 'naive'];
    const rounds = [0, 1, 2, 3, 4].map((r) => roundOrder(items, r));
    expect(rounds[0]).toEqual(items);
    expect(rounds[1]).toEqual(['dbmaint', 'pt', 'naive', 'single']);
    expect(rounds[4]).toEqual(items);
    for (const x of items) expect(rounds.slice(0, 4).map((r) => r.indexOf(x)).sort()).toEqual([0, 1, 2, 3]);
  });

  it('keeps a follower right behind the contender it needs, and rotates the pair as one', () => {
    const items = ['single', 'dbmaint', 'bare', 'pt'];
    const after = new Map([['bare', 'dbmaint']]);
    expect(roundOrder(items, 0, after)).toEqual(['single', 'dbmaint', 'bare', 'pt']);
    expect(roundOrder(items, 1, after)).toEqual(['dbmaint', 'bare', 'pt', 'single']);
    expect(roundOrder(items, 2, after)).toEqual(['pt', 'single', 'dbmaint', 'bare']);
    expect(roundOrder(items, 3, after)).toEqual(['single', 'dbmaint', 'bare', 'pt']);
  });

  it('treats a follower whose leader is not running as a contender of its own', () => {
    const after = new Map([['bare', 'dbmaint']]);
    expect(roundOrder(['single', 'bare'], 1, after)).toEqual(['bare', 'single']);
  });
});
