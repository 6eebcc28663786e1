import type { MiddlewareHandler } from 'hono';
import type { Config } from '../../config/schema';
import type { Logger } from '../../lib/logger';
import { AppError } from '../problem';
import { bearerToken, matchToken } from '../token';

/** What an operator admin token may do (config `auth.admin_tokens[].scopes`). */
export type Scope = 'read' | 'write' | 'tenants';

/** The admin token a request authenticated with. */
export interface Actor {
  name: string;
  scopes: readonly Scope[];
}

// The tenant routes (SPEC 9) under the admin API's mount point (app.ts mounts it at /api/v1).
const TENANT_ROUTE = /^\/api\/v1\/tenants(?:\/|$)/;

/**
 * The scopes a request may use, any one of them: the tenant routes take `write` or `tenants` (the
 * scope of the backend that provisions customers, good for nothing else); any other GET or HEAD
 * `read`, the rest `write`.
 */
export function scopesNeeded(method: string, path: string): readonly Scope[] {
  if (TENANT_ROUTE.test(path)) return ['write', 'tenants'];
  return method === 'GET' || method === 'HEAD' ? ['read'] : ['write'];
}

/** Hono variables set by the admin middleware. */
export type AdminEnv = { Variables: { actor: Actor } };

/**
 * Admin bearer auth: 401 without a valid token, 403 when its scopes hold none of scopesNeeded. Tokens are compared in constant time (matchToken). Failures are logged.
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
    const needed = scopesNeeded(c.req.method, c.req.path);
    if (!needed.some((scope) => found.scopes.includes(scope))) {
      logger.warn({ actor: found.name, method: c.req.method, path: c.req.path }, 'admin API: insufficient scope');
      const names = needed.map((scope) => `'${scope}'`).join(' or ');
      throw new AppError(403, 'forbidden', { detail: `token '${found.name}' lacks the ${names} scope` });
    }
    c.set('actor', found);
    await next();
  };
}
