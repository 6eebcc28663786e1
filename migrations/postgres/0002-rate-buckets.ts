import { sql, type Kysely, type Migration } from 'kysely';

/*
 * Per-subscription rate limits across instances: one token bucket row per subscription that has
 * a `rate_limit`. A claim refills and spends it inside its transaction; the row lock of the upsert
 * makes concurrent claims of that subscription take turns.
 */
export const rateBuckets: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql
      .raw(`CREATE TABLE rate_buckets (
      subscription_id TEXT COLLATE "C" PRIMARY KEY,
      tokens DOUBLE PRECISION NOT NULL,
      updated_at BIGINT NOT NULL
    )`)
      .execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql.raw('DROP TABLE IF EXISTS rate_buckets').execute(db);
  },
};
