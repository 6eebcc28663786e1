// One `path: condition` entry of a filter: a bare value (meaning $eq) or an operator object.

import { allOf, never } from './combine';
import { checkLiteral, compileEquals, describe, isPlainObject, tooDeep, type JsonValue } from './json-value';
import { MISSING, parsePath } from './path';
import { compileRegex } from './regex';
import type { FilterError, FilterPath, FilterPredicate, ValueTest } from './types';

/** Every operator accepted under a path, in the order error messages list them. */
export const FIELD_OPERATORS = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$regex', '$options'] as const;

type FieldOperator = (typeof FIELD_OPERATORS)[number];
type Ordering = '$gt' | '$gte' | '$lt' | '$lte';

/** Compiles `{ [key]: condition }`; `at` is the path of the condition inside the filter, `depth` its nesting level. */
export function compileField(key: string, condition: unknown, at: FilterPath, depth: number, errors: FilterError[]): FilterPredicate {
  const path = parsePath(key);
  if (!path.ok) errors.push({ path: at, message: path.message });
  // The condition is checked even when the path is bad, so every problem shows up in one run.
  const test = compileCondition(condition, at, depth, errors);
  if (!path.ok) return never;
  const get = path.get;
  return (envelope) => test(get(envelope));
}

function compileCondition(condition: unknown, at: FilterPath, depth: number, errors: FilterError[]): ValueTest {
  if (isPlainObject(condition)) {
    const keys = Object.keys(condition);
    const operators = keys.filter((k) => k.startsWith('$'));
    if (operators.length > 0 && operators.length < keys.length) {
      const plain = keys.filter((k) => !k.startsWith('$'));
      errors.push({
        path: at,
        message: `mixes operators (${operators.join(', ')}) with plain keys (${plain.join(', ')}); use either an operator object or a literal value (wrap a literal in $eq)`,
      });
      return never;
    }
    if (operators.length > 0) return compileOperators(condition, at, depth, errors);
    // No keys at all falls through: `{}` is the literal empty object, not "no conditions".
  }
  return checkLiteral(condition, at, depth, true, errors) ? compileEquals(condition as JsonValue) : never;
}

function compileOperators(ops: Record<string, unknown>, at: FilterPath, depth: number, errors: FilterError[]): ValueTest {
  if (tooDeep(depth, at, errors)) return never;
  const tests: ValueTest[] = [];
  for (const [op, operand] of Object.entries(ops)) {
    const opAt = [...at, op];
    if (!isFieldOperator(op)) {
      errors.push({ path: opAt, message: unknownOperator(op) });
      continue;
    }
    const test = compileOperator(op, operand, opAt, depth + 1, errors);
    if (test) tests.push(test);
  }
  if (Object.hasOwn(ops, '$regex')) {
    const compiled = compileRegex(ops.$regex, ops.$options);
    if (compiled.ok) {
      const regex = compiled.regex; // RE2: linear in the string, and test() keeps no state between events
      tests.push((v) => typeof v === 'string' && regex.test(v));
    } else {
      for (const e of compiled.errors) errors.push({ path: [...at, e.at], message: e.message });
    }
  } else if (Object.hasOwn(ops, '$options')) {
    errors.push({ path: [...at, '$options'], message: '$options needs $regex beside it' });
  }
  return allOf(tests);
}

// One operator with its operand; null for $regex/$options (compiled together by the caller) and on error.
function compileOperator(op: FieldOperator, operand: unknown, at: FilterPath, depth: number, errors: FilterError[]): ValueTest | null {
  switch (op) {
    case '$eq':
    case '$ne': {
      if (!checkLiteral(operand, at, depth, false, errors)) return null;
      const eq = compileEquals(operand as JsonValue);
      // MISSING is a symbol and never equals a JSON value, so "missing matches $ne" needs no branch.
      return op === '$eq' ? eq : (v) => !eq(v);
    }
    case '$in':
    case '$nin': {
      const isIn = compileIn(op, operand, at, depth, errors);
      if (!isIn) return null;
      return op === '$in' ? isIn : (v) => !isIn(v);
    }
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      if ((typeof operand === 'number' && Number.isFinite(operand)) || typeof operand === 'string') return compileOrdering(op, operand);
      errors.push({ path: at, message: `${op} takes a number or a string, got ${describe(operand)}` });
      return null;
    case '$exists':
      if (typeof operand === 'boolean') return operand ? (v) => v !== MISSING : (v) => v === MISSING;
      errors.push({ path: at, message: `$exists takes true or false, got ${describe(operand)}` });
      return null;
    case '$regex':
    case '$options':
      return null;
  }
}

function compileIn(op: '$in' | '$nin', operand: unknown, at: FilterPath, depth: number, errors: FilterError[]): ValueTest | null {
  if (!Array.isArray(operand)) {
    errors.push({ path: at, message: `${op} takes an array of values, got ${describe(operand)}` });
    return null;
  }
  if (!checkLiteral(operand, at, depth, false, errors)) return null;
  // Primitives go in a Set (one hash lookup per event); objects and arrays need structural equality.
  const primitives = new Set<unknown>();
  const structured: ValueTest[] = [];
  for (const item of operand as JsonValue[]) {
    if (item !== null && typeof item === 'object') structured.push(compileEquals(item));
    else primitives.add(item);
  }
  if (structured.length === 0) return (v) => primitives.has(v);
  return (v) => {
    if (v === null || typeof v !== 'object') return primitives.has(v);
    for (const eq of structured) if (eq(v)) return true;
    return false;
  };
}

// Numbers compare with numbers, strings with strings (UTF-16 code unit order, as JS `<`); any other
// pairing is false rather than coerced, so "100" never passes { $gt: 99 }.
function compileOrdering(op: Ordering, x: number | string): ValueTest {
  if (typeof x === 'number') {
    switch (op) {
      case '$gt':
        return (v) => typeof v === 'number' && v > x;
      case '$gte':
        return (v) => typeof v === 'number' && v >= x;
      case '$lt':
        return (v) => typeof v === 'number' && v < x;
      case '$lte':
        return (v) => typeof v === 'number' && v <= x;
    }
  }
  switch (op) {
    case '$gt':
      return (v) => typeof v === 'string' && v > x;
    case '$gte':
      return (v) => typeof v === 'string' && v >= x;
    case '$lt':
      return (v) => typeof v === 'string' && v < x;
    case '$lte':
      return (v) => typeof v === 'string' && v <= x;
  }
}

function isFieldOperator(op: string): op is FieldOperator {
  return (FIELD_OPERATORS as readonly string[]).includes(op);
}

function unknownOperator(op: string): string {
  const hint =
    op === '$and' || op === '$or' || op === '$not' ? ` (${op} combines whole filters and belongs beside paths, not under one)` : '';
  return `unknown operator '${op}'; expected one of ${FIELD_OPERATORS.join(', ')}${hint}`;
}
