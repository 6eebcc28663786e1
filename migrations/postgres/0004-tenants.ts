import { sql, type Kysely, type Migration } from 'kysely';

/*
 * Tenants (SPEC 9), as migrations/sqlite/0005: the `tenants` table and the nullable `tenant` of
 * api_subscriptions, events and deliveries (a delivery's is its event's), with the same indexes.
 * ADD COLUMN of a nullable column without default rewrites no table.
 */
const statements = [
  `CREATE TABLE tenants (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C",
    metadata TEXT COLLATE "C",
    enabled SMALLINT NOT NULL CHECK (enabled IN (0, 1)),
    max_subscriptions INTEGER,
    ingest_rate TEXT COLLATE "C",
    state TEXT COLLATE "C" NOT NULL CHECK (state IN ('active', 'erasing')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  )`,
  `ALTER TABLE api_subscriptions ADD COLUMN tenant TEXT COLLATE "C"`,
  `ALTER TABLE events ADD COLUMN tenant TEXT COLLATE "C"`,
  `ALTER TABLE deliveries ADD COLUMN tenant TEXT COLLATE "C"`,
  `CREATE INDEX api_subscriptions_tenant ON api_subscriptions (tenant)`,
  `CREATE INDEX events_tenant ON events (tenant, created_at, seq)`,
  `CREATE INDEX deliveries_tenant ON deliveries (tenant, id)`,
  `CREATE INDEX deliveries_tenant_waiting ON deliveries (tenant) WHERE status IN ('pending', 'retrying')`,
];

/** The `tenants` table and the `tenant` column of api_subscriptions, events and deliveries. */
export const tenants: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const statement of [
      'DROP INDEX IF EXISTS deliveries_tenant_waiting',
      'DROP INDEX IF EXISTS deliveries_tenant',
      'DROP INDEX IF EXISTS events_tenant',
      'DROP INDEX IF EXISTS api_subscriptions_tenant',
      'ALTER TABLE deliveries DROP COLUMN tenant',
      'ALTER TABLE events DROP COLUMN tenant',
      'ALTER TABLE api_subscriptions DROP COLUMN tenant',
      'DROP TABLE IF EXISTS tenants',
    ]) {
      await sql.raw(statement).execute(db);
    }
  },
};
