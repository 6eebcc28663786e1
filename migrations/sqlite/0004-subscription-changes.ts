import { sql, type Kysely, type Migration } from 'kysely';

/*
 * The subscription change log: one row per write that changed a subscription's definition or its
 * run-time enabled state, appended in that write's transaction. Readers (the relay's live set of
 * subscriptions) ask for the ids changed after the last seq they saw. AUTOINCREMENT: a seq is never
 * handed out twice, even after the newest rows were deleted.
 */
const statements = [
  `CREATE TABLE subscription_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id TEXT NOT NULL,
    changed_at INTEGER NOT NULL
  ) STRICT`,
  // Retention deletes by age.
  `CREATE INDEX subscription_changes_changed ON subscription_changes (changed_at)`,
];

/** `subscription_changes`, the log the live set of subscriptions is derived from. */
export const subscriptionChanges: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql.raw('DROP TABLE IF EXISTS subscription_changes').execute(db);
  },
};
