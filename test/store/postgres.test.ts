import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { quoteIdent } from '../../src/store/postgres/connect';
import { createPostgresStore } from '../../src/store/postgres/postgres-store';
import { describeStoreContract } from './contract';

/*
 * The shared Store contract against the real Postgres (HOOKRELAY_TEST_POSTGRES_URL, set by
 * .ci/run; the machine's local server otherwise), each store in a fresh schema of its own.
 */

const URL = process.env.HOOKRELAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: URL, max: 2 });
const schemas: string[] = [];

afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await admin.end();
});

describeStoreContract('postgres', async () => {
  const schema = `hookrelay_contract_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  schemas.push(schema);
  return createPostgresStore({ url: URL, schema, maxConnections: 4 });
});
