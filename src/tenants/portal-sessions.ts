import { createHash, randomBytes } from 'node:crypto';
import { AppError, invalidRequest, notFound } from '../lib/app-error';
import { parseDuration } from '../lib/durations';
import { ulid } from '../lib/ids';
import type { TenantTokenScope } from '../store/types';
import type { TenantDeps } from './service';
import type { TenantCredential } from './tokens';

/*
 * Portal links and sessions (SPEC 10). A link token (`hrl_…`) and a session token (`hrp_…`) are 256
 * random bits each; only their SHA-256 hex is stored, and a request finds its row by that hash (a
 * unique index), so a fast hash is enough. Using a link is one conditional UPDATE (the store's
 * openPortalSession): of two uses, on one instance or two, one wins and the other is 401. Nothing
 * is cached: every request with a session reads its row and the tenant record, so ending sessions,
 * erasing or disabling the tenant is in force at once on every instance.
 */

/** The prefix of a portal link token (the part after `#` in the link). */
export const PORTAL_LINK_PREFIX = 'hrl_';
/** The prefix of a portal session token, sent as a Bearer token by the portal page. */
export const PORTAL_SESSION_PREFIX = 'hrp_';

/** How long a link (and its session) lasts unless asked: 1 h. */
export const PORTAL_LINK_DEFAULT_MS = 3_600_000;
/** The longest a link (and its session) may last: 24 h. */
export const PORTAL_LINK_MAX_MS = 86_400_000;

const TOKEN_PATTERN = /^hr[lp]_[A-Za-z0-9_-]{43}$/;
const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
const newToken = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`;

/** The answer to a link request: the URL to hand to the signed-in customer, and when it stops working. */
export interface PortalLinkView {
  url: string;
  expires_at: string;
}

/**
 * Makes a link for a tenant with a record (404 otherwise; 409 when the tenant is disabled or being
 * erased, or without `server.public_url`). Returns the link with the row id, for the audit.
 */
export async function issuePortalLink(
  deps: TenantDeps,
  publicUrl: string | undefined,
  tenant: string,
  input: { expiresIn?: string | undefined; scopes?: TenantTokenScope[] | undefined },
): Promise<PortalLinkView & { id: string; scopes: TenantTokenScope[] }> {
  if (publicUrl === undefined) {
    throw new AppError(409, 'no_public_url', {
      detail: 'portal links need server.public_url in the config (how links to this relay are written)',
    });
  }
  const record = await deps.store.getTenant(tenant);
  if (record === null) throw notFound(`no tenant '${tenant}'`);
  if (!record.enabled || record.state !== 'active')
    throw new AppError(409, 'tenant_disabled', { detail: `tenant '${tenant}' is disabled or being erased` });
  const now = deps.clock.now();
  const expiresAt = now + linkLifetimeMs(input.expiresIn);
  const scopes = [...new Set(input.scopes ?? ['read', 'write'])].sort() as TenantTokenScope[];
  const token = newToken(PORTAL_LINK_PREFIX);
  const id = `pse_${ulid(now).toLowerCase()}`;
  await deps.store.createPortalLink({ id, tenant, scopes, linkHash: sha256Hex(token), createdAt: now, expiresAt });
  return { id, scopes, url: `${publicUrl}/portal#${token}`, expires_at: new Date(expiresAt).toISOString() };
}

function linkLifetimeMs(text: string | undefined): number {
  if (text === undefined) return PORTAL_LINK_DEFAULT_MS;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw invalidRequest('the request does not match the schema', [{ path: 'expires_in', message: (err as Error).message }]);
  }
  if (ms <= 0 || ms > PORTAL_LINK_MAX_MS) {
    throw invalidRequest('the request does not match the schema', [{ path: 'expires_in', message: 'must be above 0 and at most 24h' }]);
  }
  return ms;
}

const refused = (detail: string) => new AppError(401, 'unauthorized', { detail, headers: { 'www-authenticate': 'Bearer realm="portal"' } });

/** A portal session just opened: its token (shown only here), tenant, scopes and expiry. */
export interface OpenedPortalSession {
  token: string;
  tenant: string;
  scopes: TenantTokenScope[];
  expires_at: string;
}

/**
 * Exchanges a link token for a session: 401 for an unknown, used or expired link; 403 when its
 * tenant is disabled or being erased (the link is used up either way).
 */
export async function openPortalSession(deps: TenantDeps, linkToken: string): Promise<OpenedPortalSession> {
  if (!TOKEN_PATTERN.test(linkToken) || !linkToken.startsWith(PORTAL_LINK_PREFIX)) throw refused('this portal link is not valid');
  const token = newToken(PORTAL_SESSION_PREFIX);
  const session = await deps.store.openPortalSession(sha256Hex(linkToken), sha256Hex(token), deps.clock.now());
  if (session === null) throw refused('this portal link has expired or was already used');
  await requireActiveTenant(deps, session.tenant);
  return { token, tenant: session.tenant, scopes: session.scopes, expires_at: new Date(session.expiresAt).toISOString() };
}

async function requireActiveTenant(deps: TenantDeps, tenant: string): Promise<void> {
  const record = await deps.store.getTenant(tenant);
  if (record === null || !record.enabled || record.state !== 'active') {
    throw new AppError(403, 'tenant_disabled', { detail: `tenant '${tenant}' is disabled or has no record` });
  }
}

/** true when `given` has the shape of a portal session token (so it is checked as one). */
export const looksLikePortalSession = (given: string) => given.startsWith(PORTAL_SESSION_PREFIX);

/**
 * Checks a portal session as a tenant credential (SPEC 9): 401 when unknown, ended or expired; 403
 * when its tenant is disabled, being erased or has no record. Storage errors are thrown as they
 * come (the edge answers 503), never turned into 401.
 */
export async function authenticatePortalSession(deps: TenantDeps, given: string): Promise<TenantCredential> {
  const session = TOKEN_PATTERN.test(given) ? await deps.store.findPortalSession(sha256Hex(given)) : null;
  if (session === null || session.expiresAt <= deps.clock.now()) {
    throw new AppError(401, 'unauthorized', {
      detail: 'this portal session has ended or expired',
      headers: { 'www-authenticate': 'Bearer realm="admin"' },
    });
  }
  await requireActiveTenant(deps, session.tenant);
  return { tenant: session.tenant, tokenId: session.id, name: 'portal', scopes: session.scopes };
}

/** Ends every portal session of a tenant with a record (404 otherwise); returns how many rows went. */
export async function endPortalSessions(deps: TenantDeps, tenant: string): Promise<number> {
  if ((await deps.store.getTenant(tenant)) === null) throw notFound(`no tenant '${tenant}'`);
  return deps.store.endPortalSessions(tenant);
}
