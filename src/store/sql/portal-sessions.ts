import type { PortalLinkInput, StoredPortalSession, TenantTokenScope } from '../types';

/*
 * Portal links and sessions (SPEC 10) for every backend: one row per link, which the exchange
 * turns into a session. The SQL is the same in both dialects (named parameters, RETURNING).
 */

/** A row of `portal_sessions` (migrations sqlite/0009, postgres/0008). */
export interface PortalSessionRow {
  id: string;
  tenant: string;
  /** JSON array of scopes. */
  scopes: string;
  link_hash: string;
  session_hash: string | null;
  created_at: number;
  opened_at: number | null;
  expires_at: number;
}

/** SQL of portal links and sessions. */
export const PORTAL_SQL = {
  insert: `INSERT INTO portal_sessions (id, tenant, scopes, link_hash, session_hash, created_at, opened_at, expires_at)
    VALUES (@id, @tenant, @scopes, @linkHash, NULL, @createdAt, NULL, @expiresAt)`,
  // Old rows go when the tenant makes a new link: the table grows with links in force, not ever made.
  pruneTenant: `DELETE FROM portal_sessions WHERE tenant = @tenant AND expires_at <= @now`,
  // The use-once rule is this WHERE: of two requests with one link, one updates a row, the other none.
  open: `UPDATE portal_sessions SET session_hash = @sessionHash, opened_at = @now
    WHERE link_hash = @linkHash AND session_hash IS NULL AND expires_at > @now
    RETURNING *`,
  find: `SELECT * FROM portal_sessions WHERE session_hash = @sessionHash`,
  endTenant: `DELETE FROM portal_sessions WHERE tenant = @tenant`,
} as const;

/** Named parameters of an insert. */
export function portalLinkParams(link: PortalLinkInput): Record<string, string | number> {
  return {
    id: link.id,
    tenant: link.tenant,
    scopes: JSON.stringify(link.scopes),
    linkHash: link.linkHash,
    createdAt: link.createdAt,
    expiresAt: link.expiresAt,
  };
}

/** A StoredPortalSession from a row that was exchanged (session_hash set). */
export function toPortalSession(row: PortalSessionRow): StoredPortalSession {
  return {
    id: row.id,
    tenant: row.tenant,
    scopes: JSON.parse(row.scopes) as TenantTokenScope[],
    sessionHash: row.session_hash!,
    openedAt: Number(row.opened_at),
    expiresAt: Number(row.expires_at),
  };
}
