import type { MiddlewareHandler } from 'hono';
import type { Config } from '../../config/schema';
import type { Logger } from '../../lib/logger';
import { AppError } from '../problem';
import { bearerToken, matchToken } from '../token';

/** The admin token a request authenticated with. */
export interface Actor {
  name: string;
  scopes: readonly ('read' | 'write')[];
}

/** Hono variables set by the admin middleware. */
export type AdminEnv = { Variables: { actor: Actor } };

/**
 * Admin bearer auth: 401 without a valid token, 403 when its scopes lack `read` (GET, HEAD) or
 * `write` (everything else). Tokens are compared in constant time (matchToken). Failures are logged.
 */
export function adminAuth(tokens: () => Config['auth']['admin_tokens'], logger: Logger): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const given = bearerToken(c.req.header('authorization'));
    const token = given === null ? undefined : matchToken(given, tokens(), (t) => t.token);
    const found: Actor | undefined = token && { name: token.name, scopes: token.scopes };
    if (!found) {
      logger.warn(
        { method: c.req.method, path: c.req.path, reason: given ? 'invalid token' : 'missing token' },
        'admin API: authentication failed',
      );
      throw new AppError(401, 'unauthorized', {
        detail: given ? 'invalid admin token' : 'missing bearer token',
        headers: {
          'www-authenticate': 'Bearer realm="admin"',
        },
      });
    }
    const needed = c.req.method === 'GET' || c.req.method === 'HEAD' ? 'read' : 'write';
    if (!found.scopes.includes(needed)) {
      logger.warn({ actor: found.name, method: c.req.method, path: c.req.path }, 'admin API: insufficient scope');
      throw new AppError(403, 'forbidden', { detail: `token '${found.name}' lacks the '${needed}' scope` });
    }
    c.set('actor', found);
    await next();
  };
}
