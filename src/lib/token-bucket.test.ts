import { describe, expect, it } from 'vitest';
import { bucketCapacity, capacityOf, createTokenBuckets, DELIVERY_BURST, REQUEST_BURST } from './token-bucket';

function clocked(burst: number) {
  let t = 1_000_000;
  const buckets = createTokenBuckets({ now: () => t, burst });
  return {
    buckets,
    advance: (ms: number) => void (t += ms),
    set: (at: number) => void (t = at),
  };
}

const perSecond = (limit: number) => ({ limit, perMs: 1000 });

describe('bucketCapacity: max(1, ceil(limit × burst))', () => {
  it.each([
    [1, DELIVERY_BURST, 1],
    [9, DELIVERY_BURST, 1],
    [10, DELIVERY_BURST, 1],
    [11, DELIVERY_BURST, 2],
    [20, DELIVERY_BURST, 2],
    [50, DELIVERY_BURST, 5],
    [1, REQUEST_BURST, 1],
    [3, REQUEST_BURST, 3],
    [1000, REQUEST_BURST, 1000],
  ])('limit %d, burst %d → %d', (limit, burst, capacity) => expect(bucketCapacity(perSecond(limit), burst)).toBe(capacity));

  it('capacityOf is the delivery rule', () => {
    expect(capacityOf({ limit: 50, perMs: 3_600_000 })).toBe(5);
    expect(capacityOf(perSecond(3))).toBe(1);
  });
});

describe('createTokenBuckets', () => {
  it('take: a full window passes at once under REQUEST_BURST, then the wait until one token refills', () => {
    const { buckets, advance } = clocked(REQUEST_BURST);
    const rate = { limit: 3, perMs: 60_000 };
    expect([buckets.take('a', rate), buckets.take('a', rate), buckets.take('a', rate)]).toEqual([0, 0, 0]);
    expect(buckets.take('a', rate)).toBe(20_000);
    expect(buckets.take('a', rate)).toBe(20_000); // a refused take spends nothing
    advance(5_000);
    expect(buckets.take('a', rate)).toBe(15_000);
    advance(15_000);
    expect(buckets.take('a', rate)).toBe(0);
  });

  it('take: only a tenth passes at once under DELIVERY_BURST', () => {
    const { buckets } = clocked(DELIVERY_BURST);
    const rate = perSecond(20);
    expect([buckets.take('a', rate), buckets.take('a', rate)]).toEqual([0, 0]);
    expect(buckets.take('a', rate)).toBe(50);
  });

  it('keys have buckets of their own', () => {
    const { buckets } = clocked(REQUEST_BURST);
    const rate = { limit: 1, perMs: 60_000 };
    expect(buckets.take('a', rate)).toBe(0);
    expect(buckets.take('a', rate)).toBeGreaterThan(0);
    expect(buckets.take('b', rate)).toBe(0);
  });

  it('refills continuously and never above capacity', () => {
    const { buckets, advance } = clocked(DELIVERY_BURST);
    const rate = perSecond(50); // capacity 5, one token per 20 ms
    expect(buckets.available('s', rate)).toBe(5);
    buckets.spend('s', rate, 5);
    expect(buckets.available('s', rate)).toBe(0);
    advance(30);
    expect(buckets.available('s', rate)).toBe(1);
    advance(3_600_000);
    expect(buckets.available('s', rate)).toBe(5);
  });

  it('spend may overdraw; the debt is paid back by waiting', () => {
    const { buckets, advance } = clocked(DELIVERY_BURST);
    const rate = perSecond(10); // capacity 1, one token per 100 ms
    buckets.spend('s', rate, 3);
    expect(buckets.available('s', rate)).toBe(-2);
    expect(buckets.waitMs('s', rate)).toBe(300);
    advance(299);
    expect(buckets.waitMs('s', rate)).toBe(1);
    advance(1);
    expect(buckets.waitMs('s', rate)).toBe(0);
  });

  it('no rate is no limit', () => {
    const { buckets } = clocked(DELIVERY_BURST);
    expect(buckets.available('s', null)).toBe(Infinity);
    expect(buckets.take('s', null)).toBe(0);
    expect(buckets.waitMs('s', null)).toBe(0);
    buckets.spend('s', null, 1_000);
    expect(buckets.available('s', null)).toBe(Infinity);
  });

  it('a lowered limit (config reload) caps what a bucket already holds', () => {
    const { buckets } = clocked(REQUEST_BURST);
    expect(buckets.available('t', perSecond(100))).toBe(100);
    expect(buckets.available('t', perSecond(4))).toBe(4);
  });

  it('a clock stepped back refills nothing, and the span is not counted twice when it steps forward', () => {
    const { buckets, set } = clocked(REQUEST_BURST);
    const rate = perSecond(10); // one token per 100 ms
    set(10_000);
    buckets.spend('t', rate, 10);
    set(9_000);
    expect(buckets.available('t', rate)).toBe(0);
    set(10_100);
    expect(buckets.available('t', rate)).toBe(1);
  });
});
