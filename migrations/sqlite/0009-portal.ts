import { sql, type Kysely, type Migration } from 'kysely';

/*
 * Portal links and sessions (SPEC 10): one row per link, holding the SHA-256 hex of its token; the
 * exchange sets session_hash (the SHA-256 hex of the session token) in the same row, once. Both
 * hashes are unique and indexed: a request finds its row by one of them. Numbered 0010: 0008 and
 * 0009 belong to work built alongside.
 */
const statements = [
  `CREATE TABLE portal_sessions (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    scopes TEXT NOT NULL CHECK (json_valid(scopes)),
    link_hash TEXT NOT NULL UNIQUE,
    session_hash TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    opened_at INTEGER,
    expires_at INTEGER NOT NULL
  ) STRICT`,
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
