import { sql, type Kysely, type Migration } from 'kysely';

/*
 * Tenants (SPEC 9): the platform's customers, and the tenant each subscription, event and delivery
 * belongs to (NULL: the platform's own). A delivery's tenant copies its event's (immutable), so
 * listings and counts by tenant page on an index of deliveries alone. Every index here is written
 * once per insert and never on a status change, except the partial one of waiting deliveries,
 * which holds only the backlog (as deliveries_due does).
 */
const statements = [
  `CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT,
    metadata TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    max_subscriptions INTEGER,
    ingest_rate TEXT,
    state TEXT NOT NULL CHECK (state IN ('active', 'erasing')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT`,
  `ALTER TABLE api_subscriptions ADD COLUMN tenant TEXT`,
  `ALTER TABLE events ADD COLUMN tenant TEXT`,
  `ALTER TABLE deliveries ADD COLUMN tenant TEXT`,
  `CREATE INDEX api_subscriptions_tenant ON api_subscriptions (tenant)`,
  // Events of a tenant (or of none: NULLs are indexed too), newest first; the rowid seq ends it.
  `CREATE INDEX events_tenant ON events (tenant, created_at)`,
  `CREATE INDEX deliveries_tenant ON deliveries (tenant, id)`,
  // A tenant's backlog, counted without reading its finished deliveries.
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
