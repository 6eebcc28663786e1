import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresMigrations } from '../../migrations/postgres/index';
import { createPool, createPostgresKysely, migratePostgres, quoteIdent } from '../../src/store/postgres/connect';
import * as reads from '../../src/store/postgres/reads';
import { over } from '../../src/store/postgres/run';

/*
 * Connections and migrations of the Postgres backend against the real server (HOOKRELAY_TEST_POSTGRES_URL, which
 * .ci/run sets; the machine's local server otherwise). Each test gets a schema of its own.
 */

const URL = process.env.HOOKRELAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schemas: string[] = [];
const admin = new pg.Pool({ connectionString: URL, max: 2 });

async function freshSchema(): Promise<string> {
  const schema = `hookrelay_test_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  schemas.push(schema);
  return schema;
}

afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
  await admin.end();
});

describe('Postgres: connections and migrations', () => {
  it('migrates one schema from five instances starting at once: one applies, the others wait and find it done', async () => {
    const schema = await freshSchema();
    const instances = Array.from({ length: 5 }, () => createPostgresKysely(createPool({ url: URL, schema, maxConnections: 2 })));
    try {
      await Promise.all(instances.map((db) => migratePostgres(db, schema)));
      const applied = await admin.query(`SELECT name FROM ${quoteIdent(schema)}.kysely_migration ORDER BY name`);
      expect(applied.rows.map((r) => r.name)).toEqual(Object.keys(postgresMigrations));
      const tables = await admin.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [
        schema,
      ]);
      expect(tables.rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining(['api_subscriptions', 'attempts', 'audit_log', 'deliveries', 'events', 'subscription_state']),
      );
      // Again, later: nothing to do, nothing fails.
      await migratePostgres(instances[0]!, schema);
    } finally {
      await Promise.all(instances.map((db) => db.destroy()));
    }
  });

  it('reads BIGINT times back as numbers, in the row shapes the SQLite store reads', async () => {
    const schema = await freshSchema();
    const pool = createPool({ url: URL, schema });
    const db = createPostgresKysely(pool);
    const run = over(pool);
    try {
      await migratePostgres(db, schema);
      const T = 1_700_000_000_123;
      await sql`INSERT INTO events (id, type, data, content_hash, created_at, delivery_count) VALUES ('evt_1', 'order.created', '{"n":1}', 'h', ${T}, 1)`.execute(
        db,
      );
      await sql`INSERT INTO deliveries (id, event_id, subscription_id, event_type, status, next_attempt_at, created_at, updated_at)
        VALUES ('dlv_1', 'evt_1', 'orders', 'order.created', 'pending', ${T}, ${T}, ${T})`.execute(db);
      expect(await reads.getEvent(run, 'evt_1')).toEqual({
        id: 'evt_1',
        type: 'order.created',
        data: '{"n":1}',
        createdAt: T,
        deliveryCount: 1,
      });
      expect(await reads.getDelivery(run, 'dlv_1')).toMatchObject({ id: 'dlv_1', status: 'pending', nextAttemptAt: T, attempts: 0 });
      expect(await reads.countDeliveriesByStatus(run)).toMatchObject({ pending: 1, succeeded: 0 });
      // Deleting an event takes its deliveries with it, as in SQLite.
      await sql`DELETE FROM events WHERE id = 'evt_1'`.execute(db);
      expect(await reads.getDelivery(run, 'dlv_1')).toBeNull();
    } finally {
      await db.destroy();
    }
  });
});
