import { sql, type Kysely, type Migration } from 'kysely';

/* Tenant tokens (SPEC 9), as migrations/sqlite/0006: the SHA-256 hex of each secret, found by id. */
const statements = [
  `CREATE TABLE tenant_tokens (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    scopes TEXT COLLATE "C" NOT NULL,
    hash TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT
  )`,
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
