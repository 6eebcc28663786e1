import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../lib/logger';
import { AppError } from './problem';
import { bearerToken, matchToken } from './token';

/**
 * Bearer-token check in constant time (matchToken). An empty list lets every request in.
 * Every refusal is logged (warn) when a logger is given: method, path and reason, never the token.
 */
export function bearerAuth(tokens: () => readonly string[], realm: string, logger?: Logger): MiddlewareHandler {
  return async (c, next) => {
    const accepted = tokens();
    if (accepted.length > 0) {
      const given = bearerToken(c.req.header('authorization'));
      if (given === null || matchToken(given, accepted, (t) => t) === undefined) {
        const reason = given ? 'invalid token' : 'missing token';
        logger?.warn({ realm, method: c.req.method, path: c.req.path, reason }, `${realm}: authentication failed`);
        throw unauthorized(realm, given ? 'invalid bearer token' : 'missing bearer token');
      }
    }
    await next();
  };
}

function unauthorized(realm: string, detail: string): AppError {
  return new AppError(401, 'unauthorized', { detail, headers: { 'www-authenticate': `Bearer realm="${realm}"` } });
}
