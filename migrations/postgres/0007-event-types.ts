import { sql, type Kysely, type Migration } from 'kysely';

/*
 * The event type catalog (as migrations/sqlite/0009): API-made types, and one catalog version that
 * every put or delete raises in its own transaction. Writers queue on that one row, so versions
 * become visible in commit order. Numbered 0008: 0007 is taken by another change under way.
 */
const statements = [
  `CREATE TABLE event_types (
    name TEXT COLLATE "C" PRIMARY KEY,
    spec TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  )`,
  `CREATE TABLE event_type_catalog (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
  )`,
  `INSERT INTO event_type_catalog (id, version) VALUES (1, 0)`,
];

/** `event_types` and the one-row `event_type_catalog` holding the catalog version. */
export const eventTypes: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await sql.raw('DROP TABLE IF EXISTS event_type_catalog').execute(db);
    await sql.raw('DROP TABLE IF EXISTS event_types').execute(db);
  },
};
