import { sql, type Kysely, type Migration } from 'kysely';

/*
 * The subscription change log (as migrations/sqlite/0004): one row per write that changed a
 * subscription's definition or run-time enabled state, appended in that write's transaction.
 */
const statements = [
  `CREATE TABLE subscription_changes (
    seq BIGSERIAL PRIMARY KEY,
    subscription_id TEXT COLLATE "C" NOT NULL,
    changed_at BIGINT NOT NULL
  )`,
  // Retention deletes by age.
  `CREATE INDEX subscription_changes_changed ON subscription_changes (changed_at)`,
];

/** `subscription_changes`, the log every instance's live set of subscriptions is derived from. */
export const subscriptionChanges: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql.raw('DROP TABLE IF EXISTS subscription_changes').execute(db);
  },
};
