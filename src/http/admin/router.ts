import { OpenAPIHono } from '@hono/zod-openapi';
import { AppError } from '../problem';
import { formatPath } from '../../lib/app-error';
import { fieldErrors, nulPath } from '../validate';
import type { AdminEnv } from './auth';

/**
 * Every admin router is an OpenAPIHono with this hook: invalid input is a 400 listing each field's
 * path, and so is a NUL character (U+0000) in any field of the body, query or path.
 */
export function adminRouter(): OpenAPIHono<AdminEnv> {
  return new OpenAPIHono<AdminEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new AppError(400, 'invalid_request', {
          detail: 'the request does not match the schema',
          errors: fieldErrors(result.error.issues),
        });
      }
      const nul = nulPath(result.data);
      if (nul !== null) {
        throw new AppError(400, 'invalid_request', {
          detail: 'the request does not match the schema',
          errors: [{ path: formatPath(nul), message: 'must not contain the NUL character (\\u0000)' }],
        });
      }
    },
  });
}
