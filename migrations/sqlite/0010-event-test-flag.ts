import { sql, type Kysely, type Migration } from 'kysely';

/*
 * SPEC 5: test and example events are flagged (`<prefix>Test: true`, `"test": true` in the
 * envelope), whatever their type: a catalog example keeps its own type. 1 for those, 0 otherwise.
 */
export const eventTestFlag: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql.raw('ALTER TABLE events ADD COLUMN test INTEGER NOT NULL DEFAULT 0').execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql.raw('ALTER TABLE events DROP COLUMN test').execute(db);
  },
};
