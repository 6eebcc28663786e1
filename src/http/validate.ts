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
