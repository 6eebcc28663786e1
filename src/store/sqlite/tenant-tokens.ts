import type Database from 'better-sqlite3';
import { TENANT_TOKEN_SQL, type TenantTokenRow, tenantTokenParams, toTenantToken, touchParams } from '../sql/tenant-tokens';
import type { StoredTenantToken, TenantTokenInput } from '../types';

/** Tenant token reads and writes over one connection, prepared on first use (SQL: sql/tenant-tokens.ts). */
export function createTenantTokens(db: Database.Database) {
  const prepare = <R>(sql: string) => db.prepare<[Record<string, unknown>], R>(sql);
  const s = {
    insert: prepare(TENANT_TOKEN_SQL.insert),
    list: prepare<TenantTokenRow>(TENANT_TOKEN_SQL.list),
    revoke: prepare(TENANT_TOKEN_SQL.revoke),
    find: prepare<TenantTokenRow>(TENANT_TOKEN_SQL.find),
    touch: prepare(TENANT_TOKEN_SQL.touch),
  };
  return {
    create(token: TenantTokenInput): void {
      s.insert.run(tenantTokenParams(token));
    },
    list(tenant: string): StoredTenantToken[] {
      return s.list.all({ tenant }).map(toTenantToken);
    },
    revoke(tenant: string, id: string): boolean {
      return s.revoke.run({ tenant, id }).changes > 0;
    },
    find(id: string): StoredTenantToken | null {
      const row = s.find.get({ id });
      return row === undefined ? null : toTenantToken(row);
    },
    touch(id: string, now: number): boolean {
      return s.touch.run(touchParams(id, now)).changes > 0;
    },
  };
}

/** Tenant token reads and writes of one store. */
export type TenantTokens = ReturnType<typeof createTenantTokens>;
