// Literal JSON values in a filter: validation (every problem, with its path) and compiled deep
// equality. Equality is structural and exact: no type coercion, object key order ignored.

import { MAX_FILTER_DEPTH, type FilterError, type FilterPath, type ValueTest } from './types';

/** A JSON value as parsed from the config file or an API body. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** True for `{…}` objects (prototype Object.prototype or null), false for arrays, Dates, Maps and class instances. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** "a string", "an array", "null": the kind of value, for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'object') return isPlainObject(value) ? 'an object' : `a ${value.constructor?.name ?? 'non-plain object'}`;
  return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
}

/** The error for a container nested past MAX_FILTER_DEPTH; reported once, then the walk stops there. */
export function tooDeep(depth: number, path: FilterPath, errors: FilterError[]): boolean {
  if (depth <= MAX_FILTER_DEPTH) return false;
  errors.push({ path, message: `nested deeper than ${MAX_FILTER_DEPTH} levels` });
  return true;
}

/**
 * Checks that `value` is a JSON value, pushing one error per offending spot. With `bare` (a value
 * written directly under a path, meaning $eq) a `$` key anywhere inside is refused: it is almost
 * always an operator nested by mistake (`data: { amount: { $gt: 5 } }`) that would otherwise be
 * compared literally and silently never match. Explicit `$eq`/`$in`/`$nin` operands allow them.
 */
export function checkLiteral(value: unknown, path: FilterPath, depth: number, bare: boolean, errors: FilterError[]): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return true;
    errors.push({ path, message: `expected a JSON value, got ${describe(value)}` });
    return false;
  }
  if (Array.isArray(value)) {
    if (tooDeep(depth, path, errors)) return false;
    let ok = true;
    for (const [i, item] of value.entries()) ok = checkLiteral(item, [...path, i], depth + 1, bare, errors) && ok;
    return ok;
  }
  if (isPlainObject(value)) {
    if (tooDeep(depth, path, errors)) return false;
    let ok = true;
    for (const key of Object.keys(value)) {
      if (bare && key.startsWith('$')) {
        errors.push({
          path: [...path, key],
          message: `'${key}' inside a literal value: operators apply only directly under a path (write { "data.a.b": { "${key}": … } }), or wrap the value in $eq to compare it literally`,
        });
        ok = false;
        continue;
      }
      ok = checkLiteral(value[key], [...path, key], depth + 1, bare, errors) && ok;
    }
    return ok;
  }
  errors.push({ path, message: `expected a JSON value, got ${describe(value)}` });
  return false;
}

/** Compiles `v ≡ expected` for a checked JSON value: `===` for primitives, structural for arrays and objects. */
export function compileEquals(expected: JsonValue): ValueTest {
  if (expected === null || typeof expected !== 'object') return (v) => v === expected;
  if (Array.isArray(expected)) {
    const items = expected.map(compileEquals);
    const n = items.length;
    return (v) => {
      if (!Array.isArray(v) || v.length !== n) return false;
      for (let i = 0; i < n; i++) if (!items[i]!(v[i])) return false;
      return true;
    };
  }
  const keys = Object.keys(expected);
  const values = keys.map((k) => compileEquals(expected[k]!));
  const n = keys.length;
  return (v) => {
    if (!isPlainObject(v) || ownKeyCount(v) !== n) return false;
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      if (!Object.hasOwn(v, key) || !values[i]!(v[key])) return false;
    }
    return true;
  };
}

// Counts own enumerable keys without allocating the array Object.keys would build on every event.
function ownKeyCount(obj: Record<string, unknown>): number {
  let n = 0;
  for (const key in obj) if (Object.hasOwn(obj, key)) n++;
  return n;
}
