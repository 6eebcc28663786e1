import { describe, expect, it } from 'vitest';
import { PLATFORM, WorkSet } from './work-set';

const groups = (w: WorkSet) => [...w.dueGroups()].map(([g, ids]) => [g, [...ids]]);

describe('WorkSet', () => {
  it('groups due subscriptions by tenant and rotates groups and members', () => {
    const w = new WorkSet();
    w.due('a1', 'acct_a');
    w.due('p1', PLATFORM);
    w.due('a2', 'acct_a');
    expect(groups(w)).toEqual([
      ['acct_a', ['a1', 'a2']],
      [PLATFORM, ['p1']],
    ]);
    w.rotate('acct_a', 'a1');
    expect(groups(w)).toEqual([
      [PLATFORM, ['p1']],
      ['acct_a', ['a2', 'a1']],
    ]);
    expect(w.dueGroupCount).toBe(2);
  });

  it('keeps a later subscription out of the groups until its time, then promotes it', () => {
    const w = new WorkSet();
    w.dueAt('r', 'acct_a', 1_000, 500);
    expect(w.dueGroupCount).toBe(0);
    expect(w.nextAt()).toBe(1_000);
    w.promote(999);
    expect(w.dueGroupCount).toBe(0);
    w.promote(1_000);
    expect(groups(w)).toEqual([['acct_a', ['r']]]);
    expect(w.nextAt()).toBe(Infinity);
    // A time already past is due at once.
    w.dueAt('s', PLATFORM, 10, 500);
    expect(w.dueIn(PLATFORM).has('s')).toBe(true);
  });

  it('a newer mark supersedes an older wake-up, and stamps tell a claim that it raced one', () => {
    const w = new WorkSet();
    w.dueAt('r', PLATFORM, 2_000, 0);
    const planned = w.stampOf('r');
    w.dueAt('r', PLATFORM, 5_000, 0);
    expect(w.stampOf('r')).not.toBe(planned);
    w.promote(2_000);
    expect(w.dueGroupCount).toBe(0);
    expect(w.nextAt()).toBe(5_000);
    w.due('r', PLATFORM);
    expect(w.nextAt()).toBe(Infinity);
  });

  it('parks a subscription at its cap until one of its attempts ends; idle forgets it', () => {
    const w = new WorkSet();
    w.due('x', 'acct_a');
    w.park('x');
    expect(w.dueGroupCount).toBe(0);
    expect(w.size).toBe(1);
    w.unpark('x');
    expect(groups(w)).toEqual([['acct_a', ['x']]]);
    w.idle('x');
    expect(w.size).toBe(0);
    expect(w.stampOf('x')).toBe(0);
    // Unparking something not parked changes nothing.
    w.unpark('x');
    expect(w.size).toBe(0);
  });

  it('drops superseded wake-ups from its heap, keeping only the live ones', () => {
    const w = new WorkSet();
    for (let round = 0; round < 20; round++) for (let i = 0; i < 100; i++) w.dueAt(`s${i}`, PLATFORM, 10_000 + round * 100 + i, 0);
    expect(w.nextAt()).toBe(10_000 + 19 * 100);
    w.promote(Number.MAX_SAFE_INTEGER);
    expect(w.dueIn(PLATFORM).size).toBe(100);
  });
});
