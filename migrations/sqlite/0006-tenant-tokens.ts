import { sql, type Kysely, type Migration } from 'kysely';

/*
 * Tenant tokens (SPEC 9): credentials a tenant uses on /api/v1. Only the SHA-256 hex of the secret
 * is kept; a request finds its row by the id in the token (the primary key), so checking one costs
 * one indexed read. Revoking deletes the row.
 */
const statements = [
  `CREATE TABLE tenant_tokens (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL CHECK (json_valid(scopes)),
    hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER
  ) STRICT`,
  `CREATE INDEX tenant_tokens_tenant ON tenant_tokens (tenant, id)`,
];

/** The `tenant_tokens` table. */
export const tenantTokens: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql.raw('DROP TABLE IF EXISTS tenant_tokens').execute(db);
  },
};
