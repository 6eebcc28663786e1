import { sql, type Kysely, type Migration } from 'kysely';

/*
 * Portal links and sessions (SPEC 10), as migrations/sqlite/0010. Numbered 0009: 0007 and 0008
 * belong to work built alongside.
 */
const statements = [
  `CREATE TABLE portal_sessions (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL,
    scopes TEXT COLLATE "C" NOT NULL,
    link_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    session_hash TEXT COLLATE "C" UNIQUE,
    created_at BIGINT NOT NULL,
    opened_at BIGINT,
    expires_at BIGINT NOT NULL
  )`,
  `CREATE INDEX portal_sessions_tenant ON portal_sessions (tenant, expires_at)`,
];

/** The `portal_sessions` table. */
export const portal: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql.raw('DROP TABLE IF EXISTS portal_sessions').execute(db);
  },
};
