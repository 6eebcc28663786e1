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
 * of failing deep in a write. Iterative, and linear in the size of `value`: an admin body may nest
 * thousands of levels deep.
 */
export function nulPath(value: unknown): PropertyKey[] | null {
  // Each visited node: its parent's index in `nodes` and its key there; a path is rebuilt only when found.
  const nodes: { parent: number; key: PropertyKey }[] = [];
  const pathOf = (index: number): PropertyKey[] => {
    const path: PropertyKey[] = [];
    for (let i = index; i >= 0; i = nodes[i]!.parent) path.push(nodes[i]!.key);
    return path.reverse();
  };
  const stack: { value: unknown; index: number }[] = [{ value, index: -1 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (typeof top.value === 'string') {
      if (top.value.includes('\u0000')) return pathOf(top.index);
      continue;
    }
    if (top.value === null || typeof top.value !== 'object') continue;
    const array = Array.isArray(top.value);
    for (const [key, item] of Object.entries(top.value)) {
      const index = nodes.push({ parent: top.index, key: array ? Number(key) : key }) - 1;
      if (key.includes('\u0000')) return pathOf(index);
      stack.push({ value: item, index });
    }
  }
  return null;
}
