import fc from 'fast-check';
import { isLosslessNumber, parse as losslessParse } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../ingest/canonical-json';
import { findDuplicateKey, memberText, skipSpace } from './json-text';

// JSON text spelt in the ways a producer may spell it: whitespace anywhere between tokens, strings
// with and without \u escapes, numbers in every form JSON allows (and that doubles cannot hold).
const space = fc.constantFrom('', ' ', '\n  ', '\t', '\r\n');
const escapeAll = (s: string) =>
  `"${[...s].map((ch) => [...ch].map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')).join('')}"`;
const stringText = (s: string) => fc.constantFrom(JSON.stringify(s), escapeAll(s));
const numberText = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? '-0' : String(d))),
  fc.constantFrom('1.10', '-0', '1E+2', '1e400', '-1e-400', '9007199254740993', '1234567890123456789', '0.5e-3', '-12.000'),
);
const { value: jsonText } = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberText,
    fc.string({ unit: 'grapheme', maxLength: 8 }).chain(stringText),
    fc.constantFrom('true', 'false', 'null'),
    tie('array'),
    tie('object'),
  ),
  array: fc
    .array(fc.tuple(space, tie('value'), space), { maxLength: 4 })
    .chain((items) => space.map((s) => `[${items.length === 0 ? s : items.map(([a, v, b]) => a + v + b).join(',')}]`)),
  object: fc
    .uniqueArray(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 6 }), space, tie('value'), space), {
      selector: ([k]) => k,
      maxLength: 4,
    })
    .chain((members) =>
      fc.tuple(...members.map(([k]) => stringText(k)), space).map((parts) => {
        const keys = parts.slice(0, -1) as string[];
        const inner = members.map(([, a, v, b], i) => `${a}${keys[i]}${b}:${a}${v}${b}`).join(',');
        return `{${members.length === 0 ? parts.at(-1) : inner}}`;
      }),
    ),
}));

/** The reference canonical form: lossless-json's parse (numbers keep their text), keys sorted. */
function oracle(value: unknown): string {
  if (isLosslessNumber(value)) return value.value;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(oracle).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${oracle(obj[k])}`)
    .join(',')}}`;
}

describe('JSON text', () => {
  it('generates valid JSON (the generator itself)', () => {
    fc.assert(fc.property(jsonText, (text) => void JSON.parse(text)));
  });

  it('canonicalJson equals a lossless parse with sorted keys, whatever the spacing and escapes', () => {
    fc.assert(
      fc.property(space, jsonText, space, (a, text, b) => {
        expect(canonicalJson(a + text + b)).toBe(oracle(losslessParse(text)));
      }),
    );
  });

  it('finds no duplicate where there is none', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        expect(findDuplicateKey(text)).toBeNull();
      }),
    );
  });

  it('finds a duplicate key at any depth, with its path, even under another spelling or with an equal value', () => {
    fc.assert(
      fc.property(jsonText, jsonText, (x, y) => {
        // Where the second spelling starts (x may hold that spelling too, so not indexOf).
        const before = `{"list":[${x},{"in":{"k":${x},`;
        const text = `${before}"\\u006b":${y}}}]}`;
        expect(findDuplicateKey(text)).toEqual({ key: 'k', position: before.length, path: ['list', 1, 'in', 'k'] });
      }),
    );
    expect(findDuplicateKey('{"a":1,"a":1}')).toEqual({ key: 'a', position: 7, path: ['a'] });
    expect(findDuplicateKey('[{"a":1},{"a":1}]')).toBeNull(); // different objects
    expect(findDuplicateKey('{"a":{"a":1}}')).toBeNull(); // different objects
    expect(findDuplicateKey('{"a":"\\"a\\":1,\\"a\\"","b":2}')).toBeNull(); // keys inside a string are text
  });

  it('memberText returns the exact text of a member, spacing inside it kept, none around it', () => {
    fc.assert(
      fc.property(jsonText, space, (value, s) => {
        const text = `{${s}"type"${s}:${s}"x"${s},${s}"d\\u0061ta"${s}:${s}${value}${s}}`;
        expect(memberText(text, skipSpace(text, 0), 'data')).toBe(value);
        expect(memberText(text, 0, 'nope')).toBeUndefined();
      }),
    );
  });

  it('skips strings with escaped quotes and backslashes correctly', () => {
    const text = '{"a":"x\\\\","data":"\\\\\\"}{[","z":1}';
    expect(JSON.parse(text)).toEqual({ a: 'x\\', data: '\\"}{[', z: 1 });
    expect(memberText(text, 0, 'data')).toBe('"\\\\\\"}{["');
    expect(memberText(text, 0, 'z')).toBe('1');
  });
});
