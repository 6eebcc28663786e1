import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../lib/logger';
import { AppError } from './problem';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer-token check in constant time: every token is compared as a SHA-256 digest, so neither the
 * content nor the length of a valid token leaks through timing. An empty list lets every request in.
 * Every refusal is logged (warn) when a logger is given: method, path and reason, never the token.
 */
export function bearerAuth(tokens: () => readonly string[], realm: string, logger?: Logger): MiddlewareHandler {
  return async (c, next) => {
    const accepted = tokens();
    if (accepted.length > 0) {
      const header = c.req.header('authorization') ?? '';
      const match = /^Bearer\s+(.+)$/i.exec(header);
      const given = match ? digest(match[1]!.trim()) : null;
      let ok = false;
      if (given) for (const token of accepted) ok = timingSafeEqual(given, digest(token)) || ok;
      if (!ok) {
        const reason = given ? 'invalid token' : 'missing token';
        logger?.warn({ realm, method: c.req.method, path: c.req.path, reason }, `${realm}: authentication failed`);
        throw unauthorized(realm, given ? 'invalid bearer token' : 'missing bearer token');
      }
    }
    await next();
  };
}

function unauthorized(realm: string, detail: string): AppError {
  return new AppError(401, 'Unauthorized', detail, undefined, { 'www-authenticate': `Bearer realm="${realm}"` });
}
