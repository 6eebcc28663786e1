import { sql, type Kysely, type Migration } from 'kysely';

/*
 * Tenant erasure (SPEC 9): one row per tenant ever erased, with what was erased so far. While
 * `erasing`, the tenant's record says `erasing` too (ingest and PUT refuse it); once `done`, the
 * record is gone and this row keeps only the id, the counts and when it ended. Numbered 0006: 0005
 * belongs to tenant tokens, built alongside.
 *
 * audit_log_target: erasure blanks the details of audit entries about the tenant and its
 * subscriptions, found by target instead of read all.
 */
const statements = [
  `CREATE TABLE tenant_erasures (
    tenant TEXT COLLATE "C" PRIMARY KEY,
    state TEXT COLLATE "C" NOT NULL CHECK (state IN ('erasing', 'done')),
    events BIGINT NOT NULL DEFAULT 0,
    deliveries BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    started_at BIGINT NOT NULL,
    finished_at BIGINT
  )`,
  // The worker's look for unfinished erasures at start reads the erasing ones only.
  `CREATE INDEX tenant_erasures_erasing ON tenant_erasures (tenant) WHERE state = 'erasing'`,
  `CREATE INDEX audit_log_target ON audit_log (target)`,
];

/** `tenant_erasures`, and audit entries by target. */
export const tenantErasures: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const statement of ['DROP INDEX IF EXISTS audit_log_target', 'DROP TABLE IF EXISTS tenant_erasures']) {
      await sql.raw(statement).execute(db);
    }
  },
};
