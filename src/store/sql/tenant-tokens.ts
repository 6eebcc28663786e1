import type { StoredTenantToken, TenantTokenInput, TenantTokenScope } from '../types';
import { TENANT_TOKEN_TOUCH_MS } from '../types';

/*
 * Tenant tokens (SPEC 9) for every backend: the row, its parameters, and the SQL, which is the same
 * in both dialects (named parameters; each backend binds them its own way).
 */

/** A row of `tenant_tokens` (migrations sqlite/0006, postgres/0005). */
export interface TenantTokenRow {
  id: string;
  tenant: string;
  name: string;
  /** JSON array of scopes. */
  scopes: string;
  hash: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

/** SQL of the tenant token reads and writes. */
export const TENANT_TOKEN_SQL = {
  insert: `INSERT INTO tenant_tokens (id, tenant, name, scopes, hash, created_at, expires_at, last_used_at)
    VALUES (@id, @tenant, @name, @scopes, @hash, @createdAt, @expiresAt, NULL)`,
  list: `SELECT * FROM tenant_tokens WHERE tenant = @tenant ORDER BY id`,
  revoke: `DELETE FROM tenant_tokens WHERE tenant = @tenant AND id = @id`,
  find: `SELECT * FROM tenant_tokens WHERE id = @id`,
  // The once-a-minute rule is the WHERE: a token used 1,000 times a minute is written once.
  touch: `UPDATE tenant_tokens SET last_used_at = @now WHERE id = @id AND (last_used_at IS NULL OR last_used_at <= @before)`,
} as const;

/** Named parameters of an insert. */
export function tenantTokenParams(token: TenantTokenInput): Record<string, string | number | null> {
  return {
    id: token.id,
    tenant: token.tenant,
    name: token.name,
    scopes: JSON.stringify(token.scopes),
    hash: token.hash,
    createdAt: token.createdAt,
    expiresAt: token.expiresAt,
  };
}

/** Named parameters of a touch at `now`. */
export function touchParams(id: string, now: number): Record<string, string | number> {
  return { id, now, before: now - TENANT_TOKEN_TOUCH_MS };
}

/** A StoredTenantToken from its row. */
export function toTenantToken(row: TenantTokenRow): StoredTenantToken {
  return {
    id: row.id,
    tenant: row.tenant,
    name: row.name,
    scopes: JSON.parse(row.scopes) as TenantTokenScope[],
    hash: row.hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
  };
}
