import { describe, expect, it } from 'vitest';
import { compileFilter, MAX_FILTER_DEPTH, type FilterError } from './index';
import { MAX_REGEX_PROGRAM_SIZE } from './regex';

const envelope = (data: unknown, type = 'payment.completed') => ({
  id: 'evt_1',
  type,
  timestamp: '2026-11-23T10:00:00.000Z',
  data,
});

/** Compiles a filter that must be valid and returns its predicate. */
function compile(filter: unknown): (e: unknown) => boolean {
  const r = compileFilter(filter);
  if (!r.ok) throw new Error(`expected a valid filter, got ${JSON.stringify(r.errors)}`);
  return r.match;
}

/** Compiles a filter that must be invalid and returns its errors. */
function errorsOf(filter: unknown): FilterError[] {
  const r = compileFilter(filter);
  if (r.ok) throw new Error('expected errors');
  return r.errors;
}

/** Whether `{ "data.v": condition }` matches data `{ v: value }` (value undefined = path missing). */
function on(condition: unknown, value: unknown): boolean {
  return compile({ 'data.v': condition })(envelope(value === undefined ? {} : { v: value }));
}

describe('compileFilter: operators', () => {
  // [condition, matching value, non-matching value, type-mismatched value, matches when missing]
  const cases: [string, unknown, unknown, unknown, unknown, boolean][] = [
    ['$eq', { $eq: 100 }, 100, 99, '100', false],
    ['$ne', { $ne: 100 }, 99, 100, '100', true],
    ['$gt', { $gt: 100 }, 101, 100, '101', false],
    ['$gte', { $gte: 100 }, 100, 99, '100', false],
    ['$lt', { $lt: 100 }, 99, 100, '99', false],
    ['$lte', { $lte: 100 }, 100, 101, '100', false],
    ['$in', { $in: [1, 2, 3] }, 2, 4, '2', false],
    ['$nin', { $nin: [1, 2, 3] }, 4, 2, '2', true],
    ['$exists true', { $exists: true }, 0, undefined, null, false],
    ['$exists false', { $exists: false }, undefined, 0, null, true],
    ['$regex', { $regex: '^pay_' }, 'pay_1', 'ref_1', 12, false],
  ];

  it.each(cases)('%s: match, non-match, type mismatch, missing', (_name, condition, yes, no, mismatch, whenMissing) => {
    expect(on(condition, yes)).toBe(true);
    expect(on(condition, no)).toBe(false);
    expect(on(condition, undefined)).toBe(whenMissing);
    // $ne / $nin / $exists:true are the operators a type mismatch satisfies; the rest reject it.
    const mismatchMatches = ['$ne', '$nin', '$exists true'].includes(_name);
    expect(on(condition, mismatch)).toBe(mismatchMatches);
  });

  it('never coerces across types in ordering comparisons', () => {
    for (const op of ['$gt', '$gte', '$lt', '$lte']) {
      for (const v of ['100', null, true, false, {}, [], [100]]) expect(on({ [op]: 100 }, v)).toBe(false);
      for (const v of [100, null, true, {}, ['a']]) expect(on({ [op]: 'a' }, v)).toBe(false);
    }
  });

  it('compares strings lexicographically, so ISO timestamps order correctly', () => {
    const m = compile({ timestamp: { $gte: '2026-11-01T00:00:00.000Z', $lt: '2026-12-01T00:00:00.000Z' } });
    expect(m(envelope({}))).toBe(true);
    expect(m({ ...envelope({}), timestamp: '2026-12-01T00:00:00.000Z' })).toBe(false);
    expect(on({ $gt: 'b' }, 'ba')).toBe(true);
    expect(on({ $lt: 'b' }, 'B')).toBe(true); // code unit order: uppercase sorts first
  });

  it('ANDs several operators in one object', () => {
    const range = { $gte: 10, $lt: 20 };
    expect(on(range, 10)).toBe(true);
    expect(on(range, 19.5)).toBe(true);
    expect(on(range, 20)).toBe(false);
    expect(on(range, 9)).toBe(false);
    expect(on({ $exists: true, $ne: null }, null)).toBe(false);
    expect(on({ $exists: true, $ne: null }, 0)).toBe(true);
  });

  it('$eq is exact: no coercion, 1 equals 1.0, null matches only null', () => {
    expect(on({ $eq: 1 }, 1.0)).toBe(true);
    expect(on({ $eq: 1 }, true)).toBe(false);
    expect(on({ $eq: 0 }, false)).toBe(false);
    expect(on({ $eq: '' }, 0)).toBe(false);
    expect(on({ $eq: null }, null)).toBe(true);
    expect(on({ $eq: null }, undefined)).toBe(false);
    expect(on(null, undefined)).toBe(false);
  });

  it('$in and $nin use deep equality per element, with objects and arrays too', () => {
    const m = { $in: ['a', 1, null, { k: [1] }, [1, 2]] };
    for (const v of ['a', 1, null, { k: [1] }, [1, 2]]) expect(on(m, v)).toBe(true);
    for (const v of ['1', true, { k: [2] }, [2, 1], [1, 2, 3], {}]) expect(on(m, v)).toBe(false);
    expect(on({ $nin: [{ k: 1 }] }, { k: 1 })).toBe(false);
    expect(on({ $nin: [{ k: 1 }] }, { k: 2 })).toBe(true);
    expect(on({ $in: [] }, 1)).toBe(false);
    expect(on({ $nin: [] }, 1)).toBe(true);
  });

  it('$exists treats an explicit null as present', () => {
    expect(on({ $exists: true }, null)).toBe(true);
    expect(on({ $exists: false }, null)).toBe(false);
  });

  it('$regex honours $options flags and tests strings only', () => {
    expect(on({ $regex: '^PAY' }, 'pay_1')).toBe(false);
    expect(on({ $regex: '^PAY', $options: 'i' }, 'pay_1')).toBe(true);
    expect(on({ $regex: '^b$', $options: 'm' }, 'a\nb')).toBe(true);
    expect(on({ $regex: 'a.b', $options: 's' }, 'a\nb')).toBe(true);
    expect(on({ $regex: '^\\p{Lu}', $options: 'u' }, 'Émile')).toBe(true);
    for (const v of [1, null, true, ['pay'], { s: 'pay' }]) expect(on({ $regex: 'pay' }, v)).toBe(false);
  });

  it('regex tests are stateless across events', () => {
    const m = compile({ type: { $regex: 'pay' } });
    for (let i = 0; i < 3; i++) expect(m(envelope({}))).toBe(true);
  });
});

describe('compileFilter: values and paths', () => {
  it('a bare value means $eq, with deep equality on objects and arrays', () => {
    expect(on('x', 'x')).toBe(true);
    expect(on({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).toBe(true); // key order ignored
    expect(on({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(on({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(on([1, 2], [2, 1])).toBe(false); // array order matters
    expect(on([1, 2], [1, 2])).toBe(true);
    expect(on({}, {})).toBe(true); // {} is a literal empty object, not "no conditions"
    expect(on({}, { a: 1 })).toBe(false);
    expect(on({}, [])).toBe(false);
    expect(on([], {})).toBe(false);
  });

  it('does not search arrays implicitly', () => {
    expect(on('a', ['a', 'b'])).toBe(false);
    expect(compile({ 'data.v.0': 'a' })(envelope({ v: ['a', 'b'] }))).toBe(true);
  });

  it('follows dotted paths and numeric segments', () => {
    const e = envelope({ customer: { country: 'DE' }, items: [{ sku: 'A1' }, { sku: 'B2' }], map: { '0': 'zero' } });
    expect(compile({ 'data.customer.country': 'DE' })(e)).toBe(true);
    expect(compile({ 'data.items.1.sku': 'B2' })(e)).toBe(true);
    expect(compile({ 'data.items.2.sku': { $exists: false } })(e)).toBe(true);
    expect(compile({ 'data.map.0': 'zero' })(e)).toBe(true); // numeric segment on an object reads the key
    expect(compile({ 'data.items.length': { $exists: false } })(e)).toBe(true); // arrays answer only to indices
    expect(compile({ 'data.items.01.sku': { $exists: false } })(e)).toBe(true); // non-canonical index
    expect(compile({ 'data.customer.country.length': { $exists: false } })(e)).toBe(true); // strings have no fields
    expect(compile({ type: 'payment.completed', id: 'evt_1' })(e)).toBe(true);
  });

  it('reads own properties only', () => {
    const m = compile({ 'data.toString': { $exists: true } });
    expect(m(envelope({}))).toBe(false);
    expect(m(envelope({ toString: 'x' }))).toBe(true);
    expect(compile({ 'data.a': { $exists: true } })(envelope(Object.create({ a: 1 })))).toBe(false);
  });

  it('treats a path through a non-object as missing', () => {
    for (const data of [null, 5, 'str', true, []]) {
      expect(compile({ 'data.a.b': { $exists: false } })(envelope(data))).toBe(true);
      expect(compile({ 'data.a.b': { $ne: 1 } })(envelope(data))).toBe(true);
      expect(compile({ 'data.a.b': 1 })(envelope(data))).toBe(false);
    }
  });

  it('never throws on odd envelopes', () => {
    const m = compile({ 'data.a': { $gt: 1 }, $or: [{ type: { $regex: 'x' } }, { 'data.b': { $in: [{ c: 1 }] } }] });
    for (const e of [undefined, null, 0, 'x', [], {}, { data: null }, { data: [1] }, envelope({ a: 2, b: { c: 1 } })]) {
      expect(() => m(e)).not.toThrow();
    }
  });
});

describe('compileFilter: logical operators', () => {
  const big = envelope({ amount: 500, currency: 'EUR' });
  const small = envelope({ amount: 5, currency: 'USD' });

  it('matches everything with an empty filter', () => {
    expect(compile({})(big)).toBe(true);
    expect(compile({})(null)).toBe(true);
  });

  it('ANDs keys, $and, $or and $not', () => {
    expect(compile({ 'data.amount': { $gte: 100 }, 'data.currency': 'EUR' })(big)).toBe(true);
    expect(compile({ 'data.amount': { $gte: 100 }, 'data.currency': 'USD' })(big)).toBe(false);
    const either = compile({ $or: [{ 'data.amount': { $gte: 100 } }, { 'data.currency': 'USD' }] });
    expect(either(big)).toBe(true);
    expect(either(small)).toBe(true);
    expect(either(envelope({ amount: 5, currency: 'EUR' }))).toBe(false);
    const both = compile({ $and: [{ 'data.amount': { $gte: 100 } }, { 'data.currency': 'EUR' }] });
    expect(both(big)).toBe(true);
    expect(both(small)).toBe(false);
    const not = compile({ $not: { 'data.currency': 'EUR' } });
    expect(not(big)).toBe(false);
    expect(not(small)).toBe(true);
    expect(compile({ $not: {} })(big)).toBe(false);
  });

  it('combines logical operators with paths and nests them', () => {
    const m = compile({
      type: { $regex: '^payment\\.' },
      $or: [{ 'data.amount': { $gt: 1000 } }, { $and: [{ 'data.currency': 'EUR' }, { $not: { 'data.amount': { $lt: 100 } } }] }],
    });
    expect(m(big)).toBe(true);
    expect(m(envelope({ amount: 50, currency: 'EUR' }))).toBe(false);
    expect(m(envelope({ amount: 5000, currency: 'USD' }))).toBe(true);
    expect(m(envelope({ amount: 5000, currency: 'USD' }, 'invoice.paid'))).toBe(false);
  });

  it('handles $or with many branches', () => {
    const m = compile({ $or: [1, 2, 3, 4].map((n) => ({ 'data.n': n })) });
    expect(m(envelope({ n: 4 }))).toBe(true);
    expect(m(envelope({ n: 5 }))).toBe(false);
  });
});

describe('compileFilter: validation errors', () => {
  const OPS = '$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $regex, $options';

  it.each<[string, unknown, FilterError[]]>([
    ['non-object filter', 'type', [{ path: [], message: expect.stringContaining('a filter must be an object') }]],
    ['array filter', [], [{ path: [], message: expect.stringContaining('got an array') }]],
    ['null filter', null, [{ path: [], message: expect.stringContaining('got null') }]],
    [
      'unknown field operator',
      { 'data.amount': { $gtx: 1 } },
      [{ path: ['data.amount', '$gtx'], message: `unknown operator '$gtx'; expected one of ${OPS}` }],
    ],
    [
      '$not under a path',
      { 'data.a': { $not: { $gt: 1 } } },
      [{ path: ['data.a', '$not'], message: expect.stringContaining('belongs beside paths') }],
    ],
    [
      'unknown logical operator',
      { $nor: [] },
      [{ path: ['$nor'], message: "unknown operator '$nor'; expected $and, $or, $not or a path such as 'data.amount'" }],
    ],
    ['field operator at filter level', { $eq: 1 }, [{ path: ['$eq'], message: expect.stringContaining('must sit under one') }]],
    [
      'mixed operator object',
      { 'data.a': { $gt: 1, b: 2 } },
      [{ path: ['data.a'], message: expect.stringContaining('mixes operators ($gt) with plain keys (b)') }],
    ],
    [
      'operator nested in a bare value',
      { data: { amount: { $gte: 100 } } },
      [{ path: ['data', 'amount', '$gte'], message: expect.stringContaining("'$gte' inside a literal value") }],
    ],
    [
      '$gt with a boolean',
      { 'data.a': { $gt: true } },
      [{ path: ['data.a', '$gt'], message: '$gt takes a number or a string, got a boolean' }],
    ],
    ['$lte with null', { 'data.a': { $lte: null } }, [{ path: ['data.a', '$lte'], message: '$lte takes a number or a string, got null' }]],
    [
      '$gte with an object',
      { 'data.a': { $gte: {} } },
      [{ path: ['data.a', '$gte'], message: '$gte takes a number or a string, got an object' }],
    ],
    [
      '$in with a string',
      { 'data.a': { $in: 'abc' } },
      [{ path: ['data.a', '$in'], message: '$in takes an array of values, got a string' }],
    ],
    [
      '$nin with an object',
      { 'data.a': { $nin: { a: 1 } } },
      [{ path: ['data.a', '$nin'], message: '$nin takes an array of values, got an object' }],
    ],
    [
      '$exists with a string',
      { 'data.a': { $exists: 'yes' } },
      [{ path: ['data.a', '$exists'], message: '$exists takes true or false, got a string' }],
    ],
    [
      '$regex with a number',
      { 'data.a': { $regex: 5 } },
      [{ path: ['data.a', '$regex'], message: '$regex takes a string pattern, got a number' }],
    ],
    [
      'invalid regex',
      { 'data.a': { $regex: '(' } },
      [{ path: ['data.a', '$regex'], message: 'Invalid regular expression: missing closing ): `(`' }],
    ],
    [
      'regex too long',
      { 'data.a': { $regex: 'a'.repeat(257) } },
      [{ path: ['data.a', '$regex'], message: '$regex pattern is 257 characters; the limit is 256' }],
    ],
    [
      'unknown regex flag',
      { 'data.a': { $regex: 'a', $options: 'g' } },
      [{ path: ['data.a', '$options'], message: "unknown flag 'g' in $options; allowed: i, m, s, u" }],
    ],
    [
      'repeated regex flag',
      { 'data.a': { $regex: 'a', $options: 'ii' } },
      [{ path: ['data.a', '$options'], message: "flag 'i' is repeated in $options" }],
    ],
    [
      'non-string options',
      { 'data.a': { $regex: 'a', $options: 1 } },
      [{ path: ['data.a', '$options'], message: expect.stringContaining('takes a string of flags') }],
    ],
    ['$options alone', { 'data.a': { $options: 'i' } }, [{ path: ['data.a', '$options'], message: '$options needs $regex beside it' }]],
    ['$and not an array', { $and: { type: 'x' } }, [{ path: ['$and'], message: '$and takes a non-empty array of filters, got an object' }]],
    ['empty $or', { $or: [] }, [{ path: ['$or'], message: '$or needs at least one filter' }]],
    ['$or element not an object', { $or: [{ type: 'a' }, 'b'] }, [{ path: ['$or', 1], message: expect.stringContaining('got a string') }]],
    ['$not not an object', { $not: [{ type: 'a' }] }, [{ path: ['$not'], message: expect.stringContaining('got an array') }]],
    ['empty path segment', { 'data..a': 1 }, [{ path: ['data..a'], message: "invalid path 'data..a': segment 2 is empty" }]],
    ['trailing dot', { 'data.': 1 }, [{ path: ['data.'], message: "invalid path 'data.': segment 2 is empty" }]],
    ['empty path', { '': 1 }, [{ path: [''], message: "invalid path '': segment 1 is empty" }]],
    [
      '__proto__ segment',
      JSON.parse('{"data.__proto__.x": 1}'),
      [{ path: ['data.__proto__.x'], message: expect.stringContaining("segment '__proto__' is not allowed") }],
    ],
    [
      'constructor segment',
      { 'data.constructor': 1 },
      [{ path: ['data.constructor'], message: expect.stringContaining("segment 'constructor'") }],
    ],
    [
      'prototype segment',
      { 'data.a.prototype': 1 },
      [{ path: ['data.a.prototype'], message: expect.stringContaining("segment 'prototype'") }],
    ],
    ['path outside the envelope', { amount: 1 }, [{ path: ['amount'], message: expect.stringContaining("e.g. 'data.amount'") }]],
    ['non-JSON value', { 'data.a': { $eq: Number.NaN } }, [{ path: ['data.a', '$eq'], message: 'expected a JSON value, got NaN' }]],
    ['undefined value', { 'data.a': undefined }, [{ path: ['data.a'], message: 'expected a JSON value, got undefined' }]],
    ['Date value', { 'data.a': new Date(0) }, [{ path: ['data.a'], message: 'expected a JSON value, got a Date' }]],
    [
      'bad element in $in',
      { 'data.a': { $in: [1, () => 1] } },
      [{ path: ['data.a', '$in', 1], message: 'expected a JSON value, got a function' }],
    ],
  ])('%s', (_name, filter, expected) => {
    expect(errorsOf(filter)).toEqual(expected);
  });

  it('reports every problem at once, each with its path', () => {
    const errors = errorsOf({
      'data.amount': { $gtx: 1, $in: 'x', $gte: null },
      $or: [{ type: { $regex: '[' } }, { 'data..x': { $exists: 1 } }, 7],
      $and: [],
      $not: { $foo: 1 },
      'data.__proto__': 1,
    });
    expect(errors.map((e) => e.path)).toEqual([
      ['data.amount', '$gtx'],
      ['data.amount', '$in'],
      ['data.amount', '$gte'],
      ['$or', 0, 'type', '$regex'],
      ['$or', 1, 'data..x'],
      ['$or', 1, 'data..x', '$exists'],
      ['$or', 2],
      ['$and'],
      ['$not', '$foo'],
      ['data.__proto__'],
    ]);
  });

  it('allows literal $ keys inside explicit $eq and $in', () => {
    expect(on({ $eq: { $gt: 1 } }, { $gt: 1 })).toBe(true);
    expect(on({ $in: [{ $ref: 'x' }] }, { $ref: 'x' })).toBe(true);
  });

  it('caps nesting depth', () => {
    let deep: unknown = { type: 'x' };
    for (let i = 0; i < MAX_FILTER_DEPTH; i++) deep = { $not: deep };
    const errors = errorsOf(deep);
    expect(errors).toEqual([{ path: Array(MAX_FILTER_DEPTH).fill('$not'), message: `nested deeper than ${MAX_FILTER_DEPTH} levels` }]);

    let ok: unknown = { type: 'x' };
    for (let i = 0; i < MAX_FILTER_DEPTH - 1; i++) ok = { $not: ok };
    expect(compileFilter(ok).ok).toBe(true);

    let value: unknown = 1;
    for (let i = 0; i < MAX_FILTER_DEPTH; i++) value = [value];
    expect(errorsOf({ 'data.a': value })[0]?.message).toBe(`nested deeper than ${MAX_FILTER_DEPTH} levels`);
  });

  it('survives a cyclic filter built in code', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.$not = cyclic;
    expect(errorsOf(cyclic)).toHaveLength(1);
    const cyclicValue: Record<string, unknown> = {};
    cyclicValue.a = cyclicValue;
    expect(errorsOf({ 'data.a': { $eq: cyclicValue } })).toHaveLength(1);
  });
});

describe('compileFilter: $regex runs on RE2 (linear time)', () => {
  // Each of these takes a backtracking engine (JS RegExp) time exponential in the input length: about
  // 1.8 s at 28 characters, doubling per character. `^(a+)+$` was refused by the old denylist of shapes;
  // RE2 runs it in linear time, so it is now accepted like the others.
  const hostile: [string, string][] = [
    ['^(a|a)*$', `${'a'.repeat(40)}!`],
    ['^(\\w|\\d)+$', `${'1'.repeat(40)}!`],
    ['(a|aa)+$', `${'a'.repeat(40)}!`],
    ['^(a|b|ab)*c$', 'ab'.repeat(20)],
    ['(.*a){12}', 'a'.repeat(11) + 'b'.repeat(29)],
    ['(a{1,30}){1,30}$', `${'a'.repeat(40)}!`],
    ['^(a?){25}a{25}$', 'a'.repeat(24)],
    ['^(a+)+$', `${'a'.repeat(40)}!`],
  ];

  it.each(hostile)('accepts %s and answers in linear time on a hostile string', (pattern, input) => {
    const m = compile({ 'data.s': { $regex: pattern } });
    const started = performance.now();
    for (const s of [input, input.repeat(250)]) m(envelope({ s }));
    // Generous for a shared CI core: a backtracking engine needs hours here, RE2 milliseconds.
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('still matches what the hostile patterns describe', () => {
    expect(on({ $regex: '^(a|a)*$' }, 'aaaa')).toBe(true);
    expect(on({ $regex: '^(a|a)*$' }, 'aaa!')).toBe(false);
    expect(on({ $regex: '^(a|b|ab)*c$' }, 'ababc')).toBe(true);
    expect(on({ $regex: '^(a?){25}a{25}$' }, 'a'.repeat(25))).toBe(true);
    expect(on({ $regex: '(.*a){12}' }, 'xa'.repeat(12))).toBe(true);
    expect(on({ $regex: '(.*a){12}' }, 'xa'.repeat(11))).toBe(false);
  });

  it('anchors: ^ and $ hold at the ends of the string, at line ends only with m; unanchored matches anywhere', () => {
    expect(on({ $regex: 'pay' }, 'repayment')).toBe(true);
    expect(on({ $regex: '^pay' }, 'repayment')).toBe(false);
    expect(on({ $regex: 'ment$' }, 'repayment')).toBe(true);
    expect(on({ $regex: '^b$' }, 'a\nb')).toBe(false);
    expect(on({ $regex: '^b$', $options: 'm' }, 'a\nb')).toBe(true);
    expect(on({ $regex: '^a$' }, 'a\n')).toBe(false); // $ is the very end, as in JS (not before a final newline)
    expect(on({ $regex: '\\bfoo\\b' }, 'a foo b')).toBe(true);
    expect(on({ $regex: '\\bfoo\\b' }, 'afoob')).toBe(false);
  });

  it('flags: $options and inline (?i) agree; s lets . match a newline', () => {
    expect(on({ $regex: '(?i)^PAY' }, 'pay_1')).toBe(true);
    expect(on({ $regex: '^PAY', $options: 'i' }, 'pay_1')).toBe(true);
    expect(on({ $regex: 'a.b' }, 'a\nb')).toBe(false);
    expect(on({ $regex: 'a.b', $options: 'ims' }, 'A\nB')).toBe(true);
  });

  it('unicode: matches code points, with case folding and \\p classes, with or without u', () => {
    expect(on({ $regex: '^.$' }, '😀')).toBe(true); // one code point (JS without u saw two code units)
    expect(on({ $regex: '^.$', $options: 'u' }, '😀')).toBe(true);
    expect(on({ $regex: '^é', $options: 'i' }, 'Émile')).toBe(true);
    expect(on({ $regex: '^\\p{Greek}+$' }, 'αβγ')).toBe(true);
    expect(on({ $regex: '^\\x{e9}$' }, 'é')).toBe(true);
    expect(on({ $regex: '^[😀-😂]$' }, '😁')).toBe(true);
  });

  it.each<[string, string]>([
    ['(a)\\1', 'backreferences (\\1) are not supported: filters use linear-time (RE2) regular expressions'],
    ['(?<n>a)\\k<n>', 'backreferences (\\k) are not supported: filters use linear-time (RE2) regular expressions'],
    ['(?P<n>a)(?P=n)', 'backreferences ((?P=name)) are not supported: filters use linear-time (RE2) regular expressions'],
    ['(?=a)a', 'lookahead assertions ((?= and (?!) are not supported: filters use linear-time (RE2) regular expressions'],
    ['a(?!b)', 'lookahead assertions ((?= and (?!) are not supported: filters use linear-time (RE2) regular expressions'],
    ['(?<=a)b', 'lookbehind assertions ((?<= and (?<!) are not supported: filters use linear-time (RE2) regular expressions'],
    ['(?<!a)b', 'lookbehind assertions ((?<= and (?<!) are not supported: filters use linear-time (RE2) regular expressions'],
    ['a*+', 'possessive quantifiers (*+) are not supported: filters use linear-time (RE2) regular expressions'],
    ['a{2}+', 'possessive quantifiers ({2}+) are not supported: filters use linear-time (RE2) regular expressions'],
    ['(?>a+)b', 'atomic groups ((?>…)) are not supported: filters use linear-time (RE2) regular expressions'],
    ['(a)?(?(1)b|c)', 'conditionals ((?(…)…|…)) are not supported: filters use linear-time (RE2) regular expressions'],
    ['a(?R)?b', 'recursion and subroutine calls ((?R…) are not supported: filters use linear-time (RE2) regular expressions'],
    ['\\u00e9', '\\u escapes are not supported: write \\x{00e9} for U+00E9 (filters use linear-time (RE2) regular expressions)'],
    [
      '\\Z',
      'the escape \\Z is not supported: filters use linear-time (RE2) regular expressions (see https://github.com/google/re2/wiki/Syntax)',
    ],
    ['a**', 'Invalid regular expression: invalid nested repetition operator: `**`'],
    ['[z-a]', 'Invalid regular expression: invalid character class range: `z-a`'],
  ])('refuses %s, naming the construct', (pattern, message) => {
    expect(errorsOf({ 'data.a': { $regex: pattern } })).toEqual([{ path: ['data.a', '$regex'], message }]);
  });

  it('refuses a pattern whose program is too large, however short', () => {
    const errors = errorsOf({ 'data.a': { $regex: 'a{1,1000}b{1,1000}' } });
    expect(errors).toEqual([{ path: ['data.a', '$regex'], message: expect.stringContaining(`the limit is ${MAX_REGEX_PROGRAM_SIZE}`) }]);
  });
});
