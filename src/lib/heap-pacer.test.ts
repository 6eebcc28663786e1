import { describe, expect, it } from 'vitest';
import { HeapPace } from './heap-pacer';

const MB = 1e6;

describe('HeapPace', () => {
  it('asks for a collection once the heap has grown by half of what was live, not before', () => {
    const pace = new HeapPace(200 * MB);
    expect(pace.due(250 * MB, 0)).toBe(false);
    expect(pace.due(300 * MB, 1)).toBe(false);
    expect(pace.due(301 * MB, 2)).toBe(true);
  });

  it('lets a small heap grow by 64 MB at least', () => {
    const pace = new HeapPace(40 * MB);
    expect(pace.due(100 * MB, 0)).toBe(false);
    expect(pace.due(105 * MB, 1)).toBe(true);
  });

  it('asks once per crossing, again only if no collection was seen within the retry time', () => {
    const pace = new HeapPace(100 * MB, 0.5, 64e6, 2000);
    expect(pace.due(200 * MB, 0)).toBe(true);
    expect(pace.due(210 * MB, 250)).toBe(false);
    expect(pace.due(220 * MB, 1999)).toBe(false);
    expect(pace.due(230 * MB, 2000)).toBe(true);
  });

  it('paces from what the last collection left live', () => {
    const pace = new HeapPace(100 * MB);
    expect(pace.due(170 * MB, 0)).toBe(true);
    pace.collected(150 * MB);
    // 150 MB live: the next one at 225 MB, and a new request is allowed at once.
    expect(pace.due(220 * MB, 1)).toBe(false);
    expect(pace.due(226 * MB, 2)).toBe(true);
  });

  it('takes a heap smaller than the last live size as the new live size', () => {
    const pace = new HeapPace(300 * MB);
    expect(pace.due(100 * MB, 0)).toBe(false);
    expect(pace.due(165 * MB, 1)).toBe(true);
  });
});
