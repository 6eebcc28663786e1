import type { z } from 'zod';
import { AppError, formatPath } from './problem';

/** Parses `value` with a zod schema, or throws a 400 problem listing the path of every invalid field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    path: issue.code === 'unrecognized_keys' ? formatPath([...issue.path, issue.keys[0]!]) : formatPath(issue.path),
    message: issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}` : issue.message,
  }));
  throw new AppError(400, 'Bad Request', 'the request does not match the schema', errors);
}
