import { sql, type Kysely, type Migration } from 'kysely';

/*
 * Operational events (SPEC 12), as migrations/sqlite/0011. Numbered 0010: 0007-0009 belong to
 * branches built alongside. Each flag is changed by a guarded UPDATE (row lock), so of several
 * instances exactly one emits an occurrence.
 */
const statements = [
  `ALTER TABLE subscription_state ADD COLUMN failing_announced SMALLINT NOT NULL DEFAULT 0`,
  `ALTER TABLE subscription_state ADD COLUMN backlog_announced SMALLINT NOT NULL DEFAULT 0`,
  `ALTER TABLE subscription_state ADD COLUMN failures_reported_at BIGINT`,
  `CREATE TABLE failure_reports (
    delivery_id TEXT COLLATE "C" PRIMARY KEY,
    subscription_id TEXT COLLATE "C" NOT NULL,
    failed_at BIGINT NOT NULL
  )`,
  `CREATE INDEX failure_reports_subscription ON failure_reports (subscription_id, failed_at)`,
  // A subscription deleted or erased with its state leaves no report behind (nor a state row made again by one).
  `CREATE FUNCTION failure_reports_forget() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN DELETE FROM failure_reports WHERE subscription_id = OLD.id; RETURN OLD; END $$`,
  `CREATE TRIGGER subscription_state_forget_reports AFTER DELETE ON subscription_state
    FOR EACH ROW EXECUTE FUNCTION failure_reports_forget()`,
];

/** Flags and the pending-report table of operational events. */
export const operationalEvents: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql.raw('DROP TRIGGER IF EXISTS subscription_state_forget_reports ON subscription_state').execute(db);
    await sql.raw('DROP FUNCTION IF EXISTS failure_reports_forget()').execute(db);
    await sql.raw('DROP TABLE IF EXISTS failure_reports').execute(db);
    await sql
      .raw('ALTER TABLE subscription_state DROP COLUMN failures_reported_at, DROP COLUMN backlog_announced, DROP COLUMN failing_announced')
      .execute(db);
  },
};
