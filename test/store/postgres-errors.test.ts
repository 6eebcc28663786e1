import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { quoteIdent } from '../../src/store/postgres/connect';
import { createPostgresStore } from '../../src/store/postgres/postgres-store';

/*
 * Store.isUnavailable of the Postgres store on the errors a real server and a real pg client give
 * (HOOKRELAY_TEST_POSTGRES_URL; the machine's local server otherwise).
 */

const URL = process.env.HOOKRELAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: URL, max: 2 });
const schemas: string[] = [];

afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await admin.end();
});

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('Postgres store: isUnavailable on real failures', () => {
  it('is true when nothing listens, and false when the database does not exist', async () => {
    const refused = createPostgresStore({ url: 'postgres://postgres@127.0.0.1:1/test', maxConnections: 1 });
    try {
      const err = await errorOf(refused.getEvent('evt_1'));
      expect(err).toMatchObject({ code: 'ECONNREFUSED' });
      expect(refused.isUnavailable(err)).toBe(true);
    } finally {
      await refused.close();
    }

    const url = new globalThis.URL(URL);
    url.pathname = `/hookrelay_missing_${randomBytes(4).toString('hex')}`;
    const missing = createPostgresStore({ url: url.toString(), maxConnections: 1 });
    try {
      const err = await errorOf(missing.getEvent('evt_1'));
      expect(err).toMatchObject({ code: '3D000' });
      expect(missing.isUnavailable(err)).toBe(false);
    } finally {
      await missing.close();
    }
  });

  it('is true for a statement timeout and for a connection the server terminated', async () => {
    const schema = `hookrelay_errors_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    schemas.push(schema);
    const store = createPostgresStore({ url: URL, schema, maxConnections: 2 });
    const client = new pg.Client({ connectionString: URL });
    try {
      await store.migrate();
      await client.connect();
      client.on('error', () => undefined);
      await client.query(`SET statement_timeout = 50`);
      const timeout = await errorOf(client.query('SELECT pg_sleep(5)'));
      expect(timeout).toMatchObject({ code: '57014' });
      expect(store.isUnavailable(timeout)).toBe(true);

      const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
      const terminated = errorOf(client.query('SELECT pg_sleep(5)'));
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const err = await terminated;
      expect(store.isUnavailable(err)).toBe(true);
      // And the store itself keeps working afterwards.
      expect(await store.getEvent('evt_none')).toBeNull();
    } finally {
      await client.end().catch(() => undefined);
      await store.close();
    }
  });
});
