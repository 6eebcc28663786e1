import { describe, expect, it } from 'vitest';
import { compileJsonSchema, violations } from './json-schema';

describe('compileJsonSchema', () => {
  const problemsOf = (schema: unknown) => {
    const compiled = compileJsonSchema(schema);
    return compiled.ok ? [] : compiled.problems;
  };

  it('refuses every reference that leaves the schema, wherever it is, and follows local ones', () => {
    expect(problemsOf({ $ref: 'https://example.com/s.json' }).map((p) => p.path)).toEqual([['$ref']]);
    expect(problemsOf({ items: { $ref: 'defs.json#/a' } }).map((p) => p.path)).toEqual([['items', '$ref']]);
    expect(problemsOf({ $defs: { a: { $dynamicRef: 'http://x/y#meta' } } }).map((p) => p.path)).toEqual([['$defs', 'a', '$dynamicRef']]);
    // A `$ref` inside data keywords is data, and a property named $ref is a schema like any other.
    expect(problemsOf({ const: { $ref: 'https://x' }, properties: { $ref: { type: 'string' } } })).toEqual([]);
    const local = compileJsonSchema({ $defs: { amount: { type: 'string' } }, properties: { a: { $ref: '#/$defs/amount' } } });
    expect(local.ok && violations(local.validate, { a: 1 })).toEqual([{ path: ['a'], message: 'must be string' }]);
  });

  it('refuses other dialects, non-schemas, patterns RE2 cannot run, and schemas over 64kb', () => {
    expect(problemsOf({ $schema: 'http://json-schema.org/draft-07/schema#' })[0]?.message).toMatch(/2020-12/);
    expect(problemsOf(42)[0]?.message).toMatch(/is an object/);
    expect(problemsOf({ patternProperties: { '(a)\\1': {} } })).toEqual([
      { path: ['patternProperties', '(a)\\1'], message: expect.stringMatching(/backreferences/) },
    ]);
    expect(problemsOf({ pattern: 'a'.repeat(1025) })[0]?.message).toMatch(/limit is 1024/);
    expect(problemsOf({ description: 'x'.repeat(70_000) })[0]?.message).toMatch(/64kb/);
    expect(compileJsonSchema(true).ok).toBe(true);
  });

  it('puts each violation at its path in the value: array items by index, required and extra properties at themselves', () => {
    const compiled = compileJsonSchema({
      type: 'object',
      required: ['id'],
      additionalProperties: false,
      properties: { id: { type: 'string' }, lines: { type: 'array', items: { type: 'object', properties: { '0': { type: 'integer' } } } } },
    });
    if (!compiled.ok) throw new Error('should compile');
    expect(violations(compiled.validate, { lines: [{}, { 0: 'x' }], extra: 1 })).toEqual([
      { path: ['id'], message: 'is required' },
      { path: ['extra'], message: 'is not allowed (additionalProperties)' },
      { path: ['lines', 1, '0'], message: 'must be integer' },
    ]);
  });

  it('matches patterns anywhere in the string, as JSON Schema does, on RE2', () => {
    const compiled = compileJsonSchema({ type: 'string', pattern: '[0-9]{2}' });
    if (!compiled.ok) throw new Error('should compile');
    expect(violations(compiled.validate, 'ab12cd')).toEqual([]);
    expect(violations(compiled.validate, 'a1b')).toHaveLength(1);
  });
});
