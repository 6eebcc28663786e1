import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError, invalidRequest, notFound } from '../lib/app-error';
import { parseDuration } from '../lib/durations';
import type { Logger } from '../lib/logger';
import { type StoredTenantToken, TENANT_TOKEN_TOUCH_MS, type TenantTokenScope } from '../store/types';
import type { TenantDeps } from './service';

/*
 * Tenant tokens (SPEC 9): `hrt_<id>_<secret>`. The id finds the row (one primary-key read), the
 * secret is compared as a SHA-256 digest in constant time: the secret is 256 random bits, so a fast
 * hash is enough and no request pays for a slow one. Nothing is cached: every request reads the
 * row and the tenant record, so a revocation or a disabled tenant is in force at once on every
 * instance (the cost: two indexed reads per tenant request).
 */

/** The prefix of every tenant token. */
export const TENANT_TOKEN_PREFIX = 'hrt_';

// The id never holds `_`, so the first `_` after the prefix ends it; the secret is base64url.
const TOKEN_PATTERN = /^hrt_([a-z0-9]{20})_([A-Za-z0-9_-]{43})$/;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** A random token id: 20 characters of [a-z0-9] (about 103 bits). */
function newTokenId(): string {
  // 252 = 7 × 36: bytes above it are dropped so every character is equally likely.
  let id = '';
  while (id.length < 20) for (const b of randomBytes(32)) if (b < 252 && id.length < 20) id += ID_ALPHABET[b % 36];
  return id;
}

/** How the API shows a token (never its value). */
export interface TenantTokenView {
  id: string;
  name: string;
  scopes: TenantTokenScope[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function viewOf(t: StoredTenantToken): TenantTokenView {
  return {
    id: t.id,
    name: t.name,
    scopes: t.scopes,
    created_at: iso(t.createdAt)!,
    expires_at: iso(t.expiresAt),
    last_used_at: iso(t.lastUsedAt),
  };
}

/** Makes a token for a tenant with a record (404 otherwise); the answer holds the token, the only time it is shown. */
export async function issueTenantToken(
  deps: TenantDeps,
  tenant: string,
  input: { name: string; scopes: TenantTokenScope[]; expiresIn?: string | undefined },
): Promise<Omit<TenantTokenView, 'last_used_at'> & { token: string }> {
  if ((await deps.store.getTenant(tenant)) === null) throw notFound(`no tenant '${tenant}'`);
  const now = deps.clock.now();
  const expiresAt = input.expiresIn === undefined ? null : now + expiresInMs(input.expiresIn);
  const id = newTokenId();
  const secret = randomBytes(32).toString('base64url');
  const scopes = [...new Set(input.scopes)].sort();
  await deps.store.createTenantToken({ id, tenant, name: input.name, scopes, hash: sha256Hex(secret), createdAt: now, expiresAt });
  const { last_used_at: _, ...view } = viewOf({
    id,
    tenant,
    name: input.name,
    scopes,
    hash: '',
    createdAt: now,
    expiresAt,
    lastUsedAt: null,
  });
  return { ...view, token: `${TENANT_TOKEN_PREFIX}${id}_${secret}` };
}

function expiresInMs(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw invalidRequest('the request does not match the schema', [{ path: 'expires_in', message: (err as Error).message }]);
  }
  if (ms <= 0) throw invalidRequest('the request does not match the schema', [{ path: 'expires_in', message: 'must be above 0' }]);
  return ms;
}

/** The tenant's tokens (404 without a record). */
export async function listTenantTokens(deps: TenantDeps, tenant: string): Promise<TenantTokenView[]> {
  if ((await deps.store.getTenant(tenant)) === null) throw notFound(`no tenant '${tenant}'`);
  return (await deps.store.listTenantTokens(tenant)).map(viewOf);
}

/** Revokes one of the tenant's tokens; 404 when it has none with this id. */
export async function revokeTenantToken(deps: TenantDeps, tenant: string, id: string): Promise<void> {
  if (!(await deps.store.revokeTenantToken(tenant, id))) throw notFound(`tenant '${tenant}' has no token '${id}'`);
}

/** Who a valid tenant token speaks for. */
export interface TenantCredential {
  tenant: string;
  tokenId: string;
  name: string;
  scopes: TenantTokenScope[];
}

/** true when `given` has the shape of a tenant token (so it is checked as one). */
export const looksLikeTenantToken = (given: string) => given.startsWith(TENANT_TOKEN_PREFIX);

/**
 * Checks a tenant token: 401 when malformed, unknown, revoked or expired; 403 when its tenant is
 * disabled, being erased or has no record. Storage errors are thrown as they come (the edge answers
 * 503 for those the store calls unavailable), never turned into 401. `last_used_at` is written
 * only when the row read says it is a minute old; the UPDATE checks again, for other instances.
 */
export async function authenticateTenantToken(deps: TenantDeps & { logger: Logger }, given: string): Promise<TenantCredential> {
  const match = TOKEN_PATTERN.exec(given);
  const row = match ? await deps.store.findTenantToken(match[1]!) : null;
  const now = deps.clock.now();
  if (match === null || row === null || !sameHash(sha256Hex(match[2]!), row.hash) || (row.expiresAt !== null && row.expiresAt <= now)) {
    throw new AppError(401, 'unauthorized', {
      detail: 'invalid, revoked or expired tenant token',
      headers: { 'www-authenticate': 'Bearer realm="admin"' },
    });
  }
  const tenant = await deps.store.getTenant(row.tenant);
  if (tenant === null || !tenant.enabled || tenant.state !== 'active') {
    throw new AppError(403, 'tenant_disabled', { detail: `tenant '${row.tenant}' is disabled or has no record` });
  }
  if (row.lastUsedAt === null || row.lastUsedAt <= now - TENANT_TOKEN_TOUCH_MS) {
    // Bookkeeping only: a failed write must not refuse a request that was checked.
    await deps.store.touchTenantToken(row.id, now).catch((err: unknown) => {
      deps.logger.warn({ err, token: row.id }, 'tenant token: last_used_at not written');
    });
  }
  return { tenant: row.tenant, tokenId: row.id, name: row.name, scopes: row.scopes };
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
