import { sql, type Kysely, type Migration } from 'kysely';

/*
 * The admin API (SPEC section 8): subscriptions created at run time, the audit log, and what the
 * admin listings need to page with an index whatever the filter.
 *
 * `deliveries.event_type` copies the event's type (immutable) so "deliveries of type X" pages by
 * (event_type, id) instead of probing events row by row; the backfill runs once, inside the
 * migration's transaction. The DEFAULT only exists because ADD COLUMN NOT NULL requires one:
 * every insert sets the column.
 */
const statements = [
  `CREATE TABLE api_subscriptions (
    id TEXT PRIMARY KEY,
    spec TEXT NOT NULL CHECK (json_valid(spec)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT`,

  // seq orders the log (newest first by seq DESC on the rowid); id is what the API shows.
  `CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    details TEXT NOT NULL CHECK (json_valid(details))
  ) STRICT`,

  `ALTER TABLE deliveries ADD COLUMN event_type TEXT NOT NULL DEFAULT ''`,
  // COALESCE: a delivery orphaned while foreign keys were off must not fail the boot.
  `UPDATE deliveries SET event_type = COALESCE((SELECT e.type FROM events e WHERE e.id = deliveries.event_id), '')`,
  // listDeliveries filtered by event type, paged by id. Both columns never change after insert,
  // so this index costs one insert per delivery and nothing on status changes.
  `CREATE INDEX deliveries_event_type ON deliveries (event_type, id)`,
];

/** Tables of the admin API and the deliveries-by-event-type index. */
export const admin: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const statement of statements) await sql.raw(statement).execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const statement of [
      'DROP INDEX IF EXISTS deliveries_event_type',
      'ALTER TABLE deliveries DROP COLUMN event_type',
      'DROP TABLE IF EXISTS audit_log',
      'DROP TABLE IF EXISTS api_subscriptions',
    ]) {
      await sql.raw(statement).execute(db);
    }
  },
};
