import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { AppError } from './problem';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer-token check in constant time: every token is compared as a SHA-256 digest, so neither the
 * content nor the length of a valid token leaks through timing. An empty list lets every request in.
 */
export function bearerAuth(tokens: () => readonly string[], realm: string): MiddlewareHandler {
  return async (c, next) => {
    const accepted = tokens();
    if (accepted.length > 0) {
      const header = c.req.header('authorization') ?? '';
      const match = /^Bearer\s+(.+)$/i.exec(header);
      if (!match) throw unauthorized(realm, 'missing bearer token');
      const given = digest(match[1]!.trim());
      let ok = false;
      for (const token of accepted) ok = timingSafeEqual(given, digest(token)) || ok;
      if (!ok) throw unauthorized(realm, 'invalid bearer token');
    }
    await next();
  };
}

function unauthorized(realm: string, detail: string): AppError {
  return new AppError(401, 'Unauthorized', detail, undefined, { 'www-authenticate': `Bearer realm="${realm}"` });
}
