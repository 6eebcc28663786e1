// The filter level of the language: an object whose keys are paths or $and/$or/$not, all ANDed.
// Validation and compilation are one walk, so the checks and the predicate can never disagree.

import { allOf, anyOf, never } from './combine';
import { compileField, FIELD_OPERATORS } from './field';
import { describe, isPlainObject, tooDeep } from './json-value';
import type { CompileFilterResult, FilterError, FilterPath, FilterPredicate } from './types';

/** Validates and compiles a filter in one pass, reporting every problem with its path inside the filter. */
export function compileFilter(filter: unknown): CompileFilterResult {
  const errors: FilterError[] = [];
  const match = compileNode(filter, [], 1, errors);
  return errors.length === 0 ? { ok: true, match } : { ok: false, errors };
}

function compileNode(node: unknown, at: FilterPath, depth: number, errors: FilterError[]): FilterPredicate {
  if (!isPlainObject(node)) {
    errors.push({ path: at, message: `a filter must be an object such as { "type": "payment.completed" }, got ${describe(node)}` });
    return never;
  }
  if (tooDeep(depth, at, errors)) return never;
  const parts: FilterPredicate[] = [];
  for (const [key, value] of Object.entries(node)) {
    const keyAt = [...at, key];
    if (key === '$and' || key === '$or') {
      parts.push(compileList(key, value, keyAt, depth + 1, errors));
    } else if (key === '$not') {
      const inner = compileNode(value, keyAt, depth + 1, errors);
      parts.push((envelope) => !inner(envelope));
    } else if (key.startsWith('$')) {
      errors.push({ path: keyAt, message: unknownLogical(key) });
    } else {
      parts.push(compileField(key, value, keyAt, depth + 1, errors));
    }
  }
  return allOf(parts);
}

function compileList(op: '$and' | '$or', list: unknown, at: FilterPath, depth: number, errors: FilterError[]): FilterPredicate {
  if (!Array.isArray(list)) {
    errors.push({ path: at, message: `${op} takes a non-empty array of filters, got ${describe(list)}` });
    return never;
  }
  if (tooDeep(depth, at, errors)) return never;
  // Empty lists are refused rather than given a vacuous meaning: `$or: []` would silently never match.
  if (list.length === 0) errors.push({ path: at, message: `${op} needs at least one filter` });
  const parts = list.map((item, i) => compileNode(item, [...at, i], depth + 1, errors));
  return op === '$and' ? allOf(parts) : anyOf(parts);
}

function unknownLogical(key: string): string {
  if ((FIELD_OPERATORS as readonly string[]).includes(key)) {
    return `'${key}' compares the value at a path and must sit under one, e.g. { "data.amount": { "${key}": … } }`;
  }
  return `unknown operator '${key}'; expected $and, $or, $not or a path such as 'data.amount'`;
}
