import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { postgresMigrationProvider } from '../../../migrations/postgres/index';
import type { StoreSchema } from '../sql/rows';

/* Connections of the Postgres store, and its migrations. */

/** The tables as Kysely sees them (used for migrations): the row shapes both backends share. */
export type PostgresSchema = StoreSchema;

const INT8_OID = 20;

/** How to reach the database (config `storage.postgres`). */
export interface PostgresOptions {
  /** postgres:// URL (config `storage.postgres.url`). */
  url: string;
  /** Schema holding the tables (default: the connection's search_path, normally `public`); tests use one each. */
  schema?: string;
  /** Most connections this instance opens (default 10). */
  maxConnections?: number;
}

/**
 * A connection pool whose BIGINT columns (epoch milliseconds, sequence numbers) read back as JS
 * numbers, exact up to 2^53, instead of pg's default strings.
 */
export function createPool(opts: PostgresOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.maxConnections ?? 10,
    ...(opts.schema !== undefined && { options: `-c search_path=${quoteIdent(opts.schema)}` }),
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection that drops (the server restarted) is emitted here and removed by the pool;
  // unheard, the 'error' event would end the process. The next query connects anew.
  pool.on('error', () => undefined);
  return pool;
}

/** Kysely over the pool, for the migrator; destroying it ends the pool. */
export function createPostgresKysely(pool: pg.Pool): Kysely<PostgresSchema> {
  return new Kysely<PostgresSchema>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Applies pending migrations to `schema` (default: the connection's current schema). Safe when several instances start at
 * once: Kysely's Postgres adapter holds an advisory lock while it migrates, so the others wait,
 * then find nothing to do. The schema is named because Kysely looks for its bookkeeping tables in
 * every schema unless told one: another schema's `kysely_migration_lock` would make it skip
 * creating ours.
 */
export async function migratePostgres(db: Kysely<PostgresSchema>, schema?: string): Promise<void> {
  // The schema tables are created in: the connection's first (search_path, e.g. set in the URL).
  const target = schema ?? (await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db)).rows[0]!.schema;
  const migrator = new Migrator({ db, provider: postgresMigrationProvider, migrationTableSchema: target });
  const { error, results } = await migrator.migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((r) => r.status === 'Error')?.migrationName;
  throw new Error(`Postgres migration ${failed ?? '(setup)'} failed: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}

/** An identifier for SQL text: schema names come from tests and config, never from requests. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
