import { describe, expect, it } from 'vitest';
import { nulPath } from './validate';

describe('nulPath', () => {
  it('finds a NUL in a value or a key, at its path', () => {
    expect(nulPath({ name: 'ok', tags: ['a', 'b\u0000'] })).toEqual(['tags', 1]);
    expect(nulPath({ metadata: { 'k\u0000': 1 } })).toEqual(['metadata', 'k\u0000']);
    expect(nulPath('\u0000')).toEqual([]);
    expect(nulPath({ name: 'ok', n: 1, none: null, list: [true, 'x'] })).toBeNull();
  });

  it('walks a body nested 100,000 levels deep without recursion', () => {
    let deep: unknown = 'leaf\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const path = nulPath({ data: deep });
    expect(path).toHaveLength(100_001);
    expect(path?.[0]).toBe('data');
    let clean: unknown = 1;
    for (let i = 0; i < 100_000; i++) clean = { a: clean };
    expect(nulPath(clean)).toBeNull();
  });
});
