import { describe, expect, it } from 'vitest';
import { newDeliveryId } from '../../lib/ids';
import { deliveryIdFloor } from './delivery-id-floor';

describe('deliveryIdFloor', () => {
  it('is the time prefix of ids made at that time: every later id is above it, every earlier one below', () => {
    // Increasing times, so the monotonic generator never rounds a time up.
    const start = Date.UTC(2030, 0, 1);
    for (const t of [start, start + 1, start + 31, start + 32, start + 1023, start + 1024, start + 86_400_000]) {
      const id = newDeliveryId(t);
      expect(id.startsWith(deliveryIdFloor(t))).toBe(true);
      expect(id >= deliveryIdFloor(t)).toBe(true);
      expect(id < deliveryIdFloor(t + 1)).toBe(true);
    }
  });

  it('rounds fractions up and clamps to the ULID time range', () => {
    expect(deliveryIdFloor(1000.2)).toBe(deliveryIdFloor(1001));
    expect(deliveryIdFloor(-5)).toBe('dlv_0000000000');
    expect(deliveryIdFloor(Number.MAX_SAFE_INTEGER)).toBe('dlv_ZZZZZZZZZZ');
  });

  it('stays at or below ids the generator rounded up to an earlier, later time', () => {
    const late = Date.UTC(2031, 0, 1);
    newDeliveryId(late);
    // Asked for an earlier time after a later one: the id carries the later time, still >= the floor.
    const id = newDeliveryId(late - 5000);
    expect(id >= deliveryIdFloor(late - 5000)).toBe(true);
  });
});
