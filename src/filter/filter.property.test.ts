import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFilter, type FilterPath } from './index';

// Small vocabularies so generated filters and envelopes actually meet: random paths would almost
// never exist in random data, and the properties would only ever exercise the "missing" branch.
const scalar = fc.constantFrom<unknown>(0, 1, 2, -1.5, 'a', 'b', '', '2026-01-01', null, true, false);
const small = fc.oneof(scalar, fc.constantFrom<unknown>({ c: 1 }, [1], [], {}, ['a', 'b']));
const paths = fc.constantFrom('id', 'type', 'data.a', 'data.b', 'data.a.c', 'data.items.0', 'data.items.1.c', 'data.missing');

const operatorObject = fc
  .record(
    {
      $eq: small,
      $ne: small,
      $gt: fc.constantFrom(0, 1, 'a', '2026'),
      $gte: fc.constantFrom(0, 1, 'a'),
      $lt: fc.constantFrom(1, 2, 'b'),
      $lte: fc.constantFrom(0, 'a'),
      $in: fc.array(small, { maxLength: 3 }),
      $nin: fc.array(small, { maxLength: 3 }),
      $exists: fc.boolean(),
      $regex: fc.constantFrom('^a', 'b$', '^$', '[0-9]', '^pay'),
    },
    { requiredKeys: [] },
  )
  .filter((o) => Object.keys(o).length > 0);

const condition = fc.oneof(small, operatorObject);

const { filter } = fc.letrec<{ filter: Record<string, unknown> }>((tie) => ({
  filter: fc
    .tuple(
      fc.dictionary(paths, condition, { maxKeys: 3 }),
      fc.oneof(
        { depthSize: 'small' },
        fc.constant({}),
        fc.record({ $and: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }),
        fc.record({ $or: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }),
        fc.record({ $not: tie('filter') }),
      ),
    )
    .map(([fields, logical]) => ({ ...fields, ...logical })),
}));

const envelope = fc.record(
  {
    id: fc.constantFrom('evt_1', 'a', 'b'),
    type: fc.constantFrom('payment.completed', 'a', 'b'),
    timestamp: fc.constant('2026-11-23T10:00:00.000Z'),
    data: fc.oneof(
      fc.record(
        {
          a: fc.oneof(small, fc.record({ c: small })),
          b: small,
          items: fc.array(fc.oneof(small, fc.record({ c: small })), { maxLength: 3 }),
        },
        { requiredKeys: [] },
      ),
      small,
    ),
  },
  { requiredKeys: ['id', 'type', 'timestamp'] },
);

/** Path segments that parsePath accepts: non-empty, no dots, not prototype machinery. */
const segment = fc.oneof(
  fc.string({ minLength: 1, maxLength: 6 }).filter((s) => !s.includes('.') && !['__proto__', 'constructor', 'prototype'].includes(s)),
  fc.nat({ max: 3 }),
);

/** Wraps `value` so that it sits at `segments` under `data`: numbers become array indices. */
function envelopeWith(segments: (string | number)[], value: unknown): unknown {
  let node: unknown = JSON.parse(JSON.stringify(value)); // a copy, so equality cannot succeed by identity
  for (const seg of [...segments].reverse()) {
    if (typeof seg === 'number') {
      const arr: unknown[] = Array(seg + 1).fill('filler');
      arr[seg] = node;
      node = arr;
    } else {
      node = JSON.parse(`{${JSON.stringify(seg)}: ${JSON.stringify(node)}}`); // own "__proto__"-safe
    }
  }
  return { id: 'evt_1', type: 't', timestamp: '2026-11-23T10:00:00.000Z', data: node };
}

/** Renames keys starting with `$` so a value can be written bare (operators are refused inside literals). */
function withoutDollarKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutDollarKeys);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.startsWith('$') ? `_${k}` : k, withoutDollarKeys(x)]));
  }
  return v;
}

/** Whether `path` leads somewhere inside `root` (every error must point at a real spot in the filter). */
function resolves(root: unknown, path: FilterPath): boolean {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return false;
    node = (node as Record<string | number, unknown>)[key];
  }
  return true;
}

describe('compileFilter properties', () => {
  it('generated filters are valid', () => {
    fc.assert(
      fc.property(filter, (f) => {
        expect(compileFilter(f).ok).toBe(true);
      }),
    );
  });

  it('$not: f is always the negation of f', () => {
    fc.assert(
      fc.property(filter, envelope, (f, e) => {
        const plain = compileFilter(f);
        const negated = compileFilter({ $not: f });
        if (!plain.ok || !negated.ok) throw new Error('generated filter rejected');
        expect(negated.match(e)).toBe(!plain.match(e));
      }),
      { numRuns: 500 },
    );
  });

  it('{path: v} matches an envelope holding v at that path, for any JSON v', () => {
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 4 }), fc.jsonValue({ maxDepth: 4 }), (segments, raw) => {
        const path = ['data', ...segments].join('.');
        const bare = withoutDollarKeys(raw);
        const e = envelopeWith(segments, bare);
        const compiled = compileFilter({ [path]: bare });
        expect(compiled).toMatchObject({ ok: true });
        if (compiled.ok) expect(compiled.match(e)).toBe(true);
        // With $ keys kept, the explicit operators still compare literally.
        const withDollars = envelopeWith(segments, raw);
        for (const [cond, expected] of [
          [{ $eq: raw }, true],
          [{ $in: [raw] }, true],
          [{ $ne: raw }, false],
          [{ $nin: [raw] }, false],
          [{ $exists: true }, true],
        ] as const) {
          const r = compileFilter({ [path]: cond });
          if (!r.ok) throw new Error(JSON.stringify(r.errors));
          expect(r.match(withDollars)).toBe(expected);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('compileFilter never throws on JSON input, and every error points into the filter', () => {
    const vocabulary = fc.constantFrom(
      '$and',
      '$or',
      '$not',
      '$eq',
      '$ne',
      '$gt',
      '$gte',
      '$lt',
      '$lte',
      '$in',
      '$nin',
      '$exists',
      '$regex',
      '$options',
      '$nor',
      'data.a',
      'type',
      'data..a',
      'data.__proto__',
      'amount',
      '',
      'data.items.0',
    );
    const { shaped } = fc.letrec<{ shaped: unknown }>((tie) => ({
      shaped: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom('(', '(a+)+', 'i', 'g', 'imsu'),
        fc.array(tie('shaped'), { maxLength: 3 }),
        fc.dictionary(vocabulary, tie('shaped'), { maxKeys: 4 }),
      ),
    }));
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), shaped), (f) => {
        const r = compileFilter(f);
        if (!r.ok) {
          expect(r.errors.length).toBeGreaterThan(0);
          for (const e of r.errors) expect(resolves(f, e.path), JSON.stringify(e)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a compiled predicate never throws on any JSON envelope', () => {
    fc.assert(
      fc.property(filter, fc.oneof(envelope, fc.jsonValue()), (f, e) => {
        const r = compileFilter(f);
        if (!r.ok) throw new Error('generated filter rejected');
        expect(typeof r.match(e)).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });
});
