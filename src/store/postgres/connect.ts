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
  /** A connection (or a free one from the pool) not had by then fails, ms (config `connect_timeout`, default 5 s). */
  connectTimeoutMs?: number;
  /**
   * A statement not answered by then fails, ms (config `statement_timeout`, default 10 s): the
   * server cancels it, and the client gives up on its own too, so a server that stops answering
   * (a network partition, a hung host) cannot hold a request or the dispatcher.
   */
  statementTimeoutMs?: number;
}

/** pg client settings that bound every wait on the server (see PostgresOptions). */
export function clientTimeouts(opts: PostgresOptions) {
  const statementTimeoutMs = opts.statementTimeoutMs ?? 10_000;
  return {
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs,
    // A peer that vanished without a FIN or RST is found by TCP keep-alive, not only by the next query.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/**
 * A connection pool whose BIGINT columns (epoch milliseconds, sequence numbers) read back as JS
 * numbers, exact up to 2^53, instead of pg's default strings.
 */
export function createPool(opts: PostgresOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.maxConnections ?? 10,
    ...clientTimeouts(opts),
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
  let { error, results } = await migrator.migrateToLatest();
  // Kysely's introspection reads every schema's catalog: a schema or table of someone else's dropped
  // meanwhile (invalid_schema_name, undefined_table, naming another schema) says nothing about ours,
  // so look again after a moment. Dropping many schemas one after another (a test suite's cleanup)
  // keeps that up for seconds on a busy machine: up to 5 s.
  for (let retry = 0; retry < 100 && otherSchemaVanished(error, target); retry++) {
    await new Promise((r) => setTimeout(r, 50));
    ({ error, results } = await migrator.migrateToLatest());
  }
  if (error === undefined) return;
  const failed = results?.find((r) => r.status === 'Error')?.migrationName;
  throw new Error(`Postgres migration ${failed ?? '(setup)'} failed: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}

function otherSchemaVanished(error: unknown, target: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === '3F000' || code === '42P01') &&
    typeof message === 'string' &&
    !message.includes(`"${target}"`) &&
    !message.includes(`"${target}.`)
  );
}

/** An identifier for SQL text: schema names come from tests and config, never from requests. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
