import type { z } from 'zod';
import { AppError, formatPath, type FieldError } from './problem';

/** One entry per invalid field; an unknown key is reported at its own path (`events[0].typo`). */
export function fieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.map((issue) =>
    issue.code === 'unrecognized_keys'
      ? {
          path: formatPath([...issue.path, issue.keys[0]!]),
          message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`,
        }
      : { path: formatPath(issue.path), message: issue.message },
  );
}

/** Parses `value` with a zod schema, or throws a 400 problem listing the path of every invalid field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new AppError(400, 'invalid_request', { detail: 'the request does not match the schema', errors: fieldErrors(result.error.issues) });
}

/**
 * The path of the first string (value or key) in `value` holding U+0000, or null. Postgres text
 * cannot hold that character, so the admin and portal APIs refuse it on both stores alike instead
 * of failing deep in a write.
 */
export function nulPath(value: unknown, path: PropertyKey[] = []): PropertyKey[] | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (value === null || typeof value !== 'object') return null;
  for (const [key, item] of Object.entries(value)) {
    const at = [...path, Array.isArray(value) ? Number(key) : key];
    if (key.includes('\u0000')) return at;
    const found = nulPath(item, at);
    if (found !== null) return found;
  }
  return null;
}
