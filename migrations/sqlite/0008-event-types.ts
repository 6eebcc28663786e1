import { sql, type Kysely, type Migration } from 'kysely';

/*
 * The event type catalog (SPEC 11): the types made over the admin API (config and built-in ones
 * live in the config and the code), and one catalog version that every put or delete raises in
 * its own transaction, so every instance can tell with one read whether to read the catalog again.
 * Numbered 0009: 0008 is taken by another change under way.
 */
const statements = [
  `CREATE TABLE event_types (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL CHECK (json_valid(spec)),
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT`,
  `CREATE TABLE event_type_catalog (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
  ) STRICT`,
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
