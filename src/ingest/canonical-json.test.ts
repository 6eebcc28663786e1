import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash } from './canonical-json';

// The walk itself is checked against lossless-json on generated text in src/lib/json-text.test.ts.
describe('canonicalJson', () => {
  it('compares numbers by their text and strings by their value, ignoring key order and spacing', () => {
    expect(canonicalJson('{"b": [1.10, -0, 1E+2], "a": "\\u00e9"}')).toBe('{"a":"é","b":[1.10,-0,1E+2]}');
    expect(canonicalJson('{"n":9007199254740993}')).not.toBe(canonicalJson('{"n":9007199254740992}'));
    expect(canonicalJson('1.10')).not.toBe(canonicalJson('1.1'));
    expect(canonicalJson('{"a":1,"b":{"d":2,"c":3}}')).toBe(canonicalJson(' { "b" : { "c":3,"d":2 } ,"a":1 } '));
    expect(canonicalJson('"\\ud800"')).toBe('"\\ud800"'); // a lone surrogate stays an escape
  });

  it('keeps the content of ordinary payloads as the JSON.parse-based form did (stored hashes stay valid)', () => {
    const asBefore = (v: unknown): string =>
      v === null || typeof v !== 'object'
        ? JSON.stringify(v)
        : Array.isArray(v)
          ? `[${v.map(asBefore).join(',')}]`
          : `{${Object.keys(v)
              .sort()
              .map((k) => `${JSON.stringify(k)}:${asBefore((v as Record<string, unknown>)[k])}`)
              .join(',')}}`;
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(JSON.stringify(v))).toBe(asBefore(v));
      }),
    );
  });

  it('hashes type and canonical data, and a tenant only when there is one', () => {
    const base = contentHash({ type: 'a.b', dataText: '{"x":1,"y":2}' });
    expect(contentHash({ type: 'a.b', dataText: ' { "y" : 2, "x" : 1 } ' })).toBe(base);
    expect(contentHash({ type: 'a.c', dataText: '{"x":1,"y":2}' })).not.toBe(base);
    expect(contentHash({ type: 'a.b', tenant: undefined, dataText: '{"x":1,"y":2}' })).toBe(base);
    expect(contentHash({ type: 'a.b', tenant: 'acct_1', dataText: '{"x":1,"y":2}' })).not.toBe(base);
  });
});
