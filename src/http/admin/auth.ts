import type { MiddlewareHandler } from 'hono';
import type { Config } from '../../config/schema';
import type { Logger } from '../../lib/logger';
import type { TenantDeps } from '../../tenants/service';
import { authenticatePortalSession, looksLikePortalSession } from '../../tenants/portal-sessions';
import { authenticateTenantToken, looksLikeTenantToken } from '../../tenants/tokens';
import { AppError } from '../problem';
import { bearerToken, matchToken } from '../token';

/** What an operator admin token may do (config `auth.admin_tokens[].scopes`). */
export type Scope = 'read' | 'write' | 'tenants';

/** The credential a request authenticated with, as audit and rate limits name it. */
export interface Actor {
  name: string;
  scopes: readonly Scope[];
}

/**
 * Who is looking (SPEC 9): an operator token sees everything its scopes allow; a tenant credential
 * sees its tenant alone. Routes ask the viewer (viewer.ts), never the token.
 */
export type Viewer =
  | { kind: 'operator'; name: string; scopes: readonly Scope[] }
  | { kind: 'tenant'; tenant: string; tokenId: string; name: string; scopes: readonly ('read' | 'write')[] };

// The tenant routes (SPEC 9) under the admin API's mount point (app.ts mounts it at /api/v1).
const TENANT_ROUTE = /^\/api\/v1\/tenants(?:\/|$)/;
// Routes of the operator alone: a tenant credential gets 403 whatever its scopes.
const OPERATOR_ROUTE = /^\/api\/v1\/(?:tenants|reload|backup|audit)(?:\/|$)/;
// Routes a tenant credential may read but never write (SPEC 9: the event type catalog).
const OPERATOR_WRITE_ROUTE = /^\/api\/v1\/event-types(?:\/|$)/;

/**
 * The scopes a request may use, any one of them: the tenant routes take `write` or `tenants` (the
 * scope of the backend that provisions customers, good for nothing else); `/whoami` any scope;
 * any other GET or HEAD `read`, the rest `write`.
 */
export function scopesNeeded(method: string, path: string): readonly Scope[] {
  if (TENANT_ROUTE.test(path)) return ['write', 'tenants'];
  // Any token may ask what it is (a `tenants`-only token too).
  if (path === '/api/v1/whoami') return ['read', 'write', 'tenants'];
  return method === 'GET' || method === 'HEAD' ? ['read'] : ['write'];
}

/** Hono variables set by the admin middleware. */
export type AdminEnv = { Variables: { actor: Actor; viewer: Viewer } };

/**
 * Admin bearer auth: 401 without a valid token, 403 when its scopes hold none of scopesNeeded.
 * Operator tokens are compared in constant time (matchToken); a token that is none of them and
 * starts `hrt_` is checked as a tenant token (tenants/tokens.ts), one that starts `hrp_` as a portal
 * session (tenants/portal-sessions.ts). Failures are logged, never the token.
 */
export function adminAuth(
  tokens: () => Config['auth']['admin_tokens'],
  logger: Logger,
  tenantDeps: TenantDeps,
): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const given = bearerToken(c.req.header('authorization'));
    const token = given === null ? undefined : matchToken(given, tokens(), (t) => t.token);
    let viewer: Viewer | undefined = token && { kind: 'operator', name: token.name, scopes: token.scopes };
    if (!viewer && given !== null && (looksLikeTenantToken(given) || looksLikePortalSession(given))) {
      viewer = await tenantViewer(given, tenantDeps, logger, c.req.method, c.req.path);
    }
    if (!viewer) {
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
    checkScope(viewer, c.req.method, c.req.path, logger);
    c.set('viewer', viewer);
    c.set('actor', { name: viewer.name, scopes: viewer.scopes });
    await next();
  };
}

async function tenantViewer(given: string, deps: TenantDeps, logger: Logger, method: string, path: string): Promise<Viewer> {
  try {
    const portal = looksLikePortalSession(given);
    const credential = portal ? await authenticatePortalSession(deps, given) : await authenticateTenantToken({ ...deps, logger }, given);
    // Audit and rate limits name the token (or the portal session), under its tenant.
    return {
      kind: 'tenant',
      tenant: credential.tenant,
      tokenId: credential.tokenId,
      name: `${portal ? 'portal' : 'tenant'}:${credential.tenant}/${credential.tokenId}`,
      scopes: credential.scopes,
    };
  } catch (err) {
    if (err instanceof AppError) logger.warn({ method, path, reason: err.detail }, 'admin API: tenant credential refused');
    throw err;
  }
}

function checkScope(viewer: Viewer, method: string, path: string, logger: Logger): void {
  if (viewer.kind === 'tenant') {
    if (OPERATOR_ROUTE.test(path) || (OPERATOR_WRITE_ROUTE.test(path) && method !== 'GET' && method !== 'HEAD')) {
      logger.warn({ actor: viewer.name, method, path }, 'admin API: operator route refused to a tenant credential');
      throw new AppError(403, 'forbidden', { detail: 'this route is for operator tokens; a tenant credential may not use it' });
    }
  }
  const needed = viewer.kind === 'tenant' ? (method === 'GET' || method === 'HEAD' ? ['read'] : ['write']) : scopesNeeded(method, path);
  if (!needed.some((scope) => (viewer.scopes as readonly string[]).includes(scope))) {
    logger.warn({ actor: viewer.name, method, path }, 'admin API: insufficient scope');
    const names = needed.map((scope) => `'${scope}'`).join(' or ');
    throw new AppError(403, 'forbidden', { detail: `token '${viewer.name}' lacks the ${names} scope` });
  }
}
