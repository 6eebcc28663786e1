import { sql, type Kysely, type Migration } from 'kysely';

/*
 * Auto-disable (`delivery.disable_after`): when the current run of failures of a subscription
 * began. NULL while the last finished attempt succeeded (or none has failed yet). A subscription
 * already failing when this runs gets its last failure as the start: the clock can only start
 * late, so nothing is disabled earlier than it should be.
 */
const statements = [
  `ALTER TABLE subscription_state ADD COLUMN failing_since INTEGER`,
  `UPDATE subscription_state SET failing_since = last_failure_at WHERE failure_streak > 0`,
];

/** `subscription_state.failing_since`, for auto-disable. */
export const scheduling: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql.raw('ALTER TABLE subscription_state DROP COLUMN failing_since').execute(db);
  },
};
