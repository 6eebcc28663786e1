import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseRate, parseSize } from './durations';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['1.5s', 1500],
    ['0s', 0],
    [' 10s ', 10_000],
  ])('%s → %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['10', '', 'abc', '10 seconds', '-5s', '1.s', '5M', '10s5'])('rejects %j with the accepted forms', (text) => {
    expect(() => parseDuration(text)).toThrow('expected a duration like 500ms, 10s, 5m, 2h or 7d');
  });
});

describe('parseSize', () => {
  it.each([
    ['512b', 512],
    ['64kb', 65_536],
    ['1mb', 1_048_576],
    ['1gb', 1_073_741_824],
    ['64KB', 65_536],
    ['1MB', 1_048_576],
  ])('%s → %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['64', 'kb', '1tb', '1 mib'])('rejects %j', (text) => {
    expect(() => parseSize(text)).toThrow('expected a size like 512b, 64kb, 1mb or 1gb');
  });
});

describe('parseRate', () => {
  it.each([
    ['1000/s', { limit: 1000, perMs: 1000 }],
    ['50/s', { limit: 50, perMs: 1000 }],
    ['600/m', { limit: 600, perMs: 60_000 }],
    ['10/h', { limit: 10, perMs: 3_600_000 }],
  ])('%s', (text, rate) => expect(parseRate(text)).toEqual(rate));

  it('off means no limit', () => expect(parseRate('off')).toBeNull());

  it.each(['0/s', '1.5/s', '10', '10/x', 'on'])('rejects %j', (text) => {
    expect(() => parseRate(text)).toThrow('expected a rate like 1000/s, 600/m or 10/h, or off');
  });
});

describe('formatDuration', () => {
  it.each([
    [500, '500ms'],
    [10_000, '10s'],
    [1500, '1.5s'],
    [300_000, '5m'],
    [7_200_000, '2h'],
    [604_800_000, '7d'],
    [0, '0ms'],
  ])('%d → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it('round-trips through parseDuration', () => {
    for (const ms of [250, 1500, 90_000, 5_400_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
