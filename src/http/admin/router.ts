import { OpenAPIHono } from '@hono/zod-openapi';
import { AppError } from '../problem';
import { fieldErrors } from '../validate';
import type { AdminEnv } from './auth';

/** Every admin router is an OpenAPIHono with this hook: invalid input is a 400 listing each field's path. */
export function adminRouter(): OpenAPIHono<AdminEnv> {
  return new OpenAPIHono<AdminEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new AppError(400, 'invalid_request', {
          detail: 'the request does not match the schema',
          errors: fieldErrors(result.error.issues),
        });
      }
    },
  });
}
