import { describe, expect, it } from 'vitest';
import { newEventId, ulid } from './ids';

describe('ulid', () => {
  it('is 26 Crockford characters and sorts by creation, also within one millisecond', () => {
    const ids = Array.from({ length: 1000 }, () => ulid(1_700_000_000_000));
    expect(ids.every((id) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
    expect(ulid(1_700_000_000_001) > ids[999]!).toBe(true);
  });

  it('makes evt_ ids', () => {
    expect(newEventId(1_700_000_000_000)).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
  });
});
