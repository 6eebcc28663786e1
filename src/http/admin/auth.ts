import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Config } from '../../config/schema';
import type { Logger } from '../../lib/logger';
import { AppError } from '../problem';

/** The admin token a request authenticated with. */
export interface Actor {
  name: string;
  scopes: readonly ('read' | 'write')[];
}

/** Hono variables set by the admin middleware. */
export type AdminEnv = { Variables: { actor: Actor } };

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Admin bearer auth: 401 without a valid token, 403 when its scopes lack `read` (GET, HEAD) or
 * `write` (everything else). Tokens are compared as SHA-256 digests in constant time, every one of
 * them, so timing reveals neither which token nor how much of it matched. Failures are logged.
 */
export function adminAuth(tokens: () => Config['auth']['admin_tokens'], logger: Logger): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const match = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
    const given = match ? digest(match[1]!.trim()) : null;
    let found: Actor | undefined;
    if (given) {
      for (const t of tokens()) if (timingSafeEqual(given, digest(t.token)) && !found) found = { name: t.name, scopes: t.scopes };
    }
    if (!found) {
      logger.warn({ method: c.req.method, path: c.req.path, reason: given ? 'invalid token' : 'missing token' }, 'admin API: authentication failed');
      throw new AppError(401, 'Unauthorized', given ? 'invalid admin token' : 'missing bearer token', undefined, { 'www-authenticate': 'Bearer realm="admin"' });
    }
    const needed = c.req.method === 'GET' || c.req.method === 'HEAD' ? 'read' : 'write';
    if (!found.scopes.includes(needed)) {
      logger.warn({ actor: found.name, method: c.req.method, path: c.req.path }, 'admin API: insufficient scope');
      throw new AppError(403, 'Forbidden', `token '${found.name}' lacks the '${needed}' scope`);
    }
    c.set('actor', found);
    await next();
  };
}
