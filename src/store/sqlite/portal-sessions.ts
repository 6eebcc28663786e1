import type Database from 'better-sqlite3';
import { PORTAL_SQL, type PortalSessionRow, portalLinkParams, toPortalSession } from '../sql/portal-sessions';
import type { PortalLinkInput, StoredPortalSession } from '../types';

/** Portal link and session reads and writes over one connection, prepared on first use (SQL: sql/portal-sessions.ts). */
export function createPortalSessions(db: Database.Database) {
  const prepare = <R>(sql: string) => db.prepare<[Record<string, unknown>], R>(sql);
  const s = {
    insert: prepare(PORTAL_SQL.insert),
    pruneTenant: prepare(PORTAL_SQL.pruneTenant),
    open: prepare<PortalSessionRow>(PORTAL_SQL.open),
    find: prepare<PortalSessionRow>(PORTAL_SQL.find),
    endTenant: prepare(PORTAL_SQL.endTenant),
  };
  const create = db.transaction((link: PortalLinkInput) => {
    s.pruneTenant.run({ tenant: link.tenant, now: link.createdAt });
    s.insert.run(portalLinkParams(link));
  });
  return {
    create(link: PortalLinkInput): void {
      create.immediate(link);
    },
    open(linkHash: string, sessionHash: string, now: number): StoredPortalSession | null {
      const row = s.open.get({ linkHash, sessionHash, now });
      return row === undefined ? null : toPortalSession(row);
    },
    find(sessionHash: string): StoredPortalSession | null {
      const row = s.find.get({ sessionHash });
      return row === undefined ? null : toPortalSession(row);
    },
    end(tenant: string): number {
      return s.endTenant.run({ tenant }).changes;
    },
  };
}

/** Portal link and session reads and writes of one store. */
export type PortalSessions = ReturnType<typeof createPortalSessions>;
