import type Database from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  Migrator,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type MigrationProvider,
} from 'kysely';
import type { StoreSchema } from '../sql/rows';

/*
 * Kysely's SQLite adapter reports no transactional DDL, so its Migrator would run each migration
 * statement by statement in autocommit: a migration failing half-way would leave half a schema
 * and no record of it. SQLite does support transactional DDL, so say so; and begin IMMEDIATE so
 * two processes migrating the same file queue on the write lock instead of failing with
 * SQLITE_BUSY when a read transaction tries to become a write one.
 */
class TransactionalSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class RelaySqliteDialect extends SqliteDialect {
  readonly #db: Database.Database;
  constructor(db: Database.Database) {
    super({ database: db });
    this.#db = db;
  }
  override createAdapter(): DialectAdapter {
    return new TransactionalSqliteAdapter();
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#db });
  }
}

/** Kysely over an open better-sqlite3 database (same connection; destroying it closes the database). */
export function createKysely(db: Database.Database): Kysely<StoreSchema> {
  return new Kysely<StoreSchema>({ dialect: new RelaySqliteDialect(db) });
}

/** Applies every pending migration in one transaction; throws (naming the migration) if one fails. */
export async function migrateToLatest(db: Kysely<StoreSchema>, provider: MigrationProvider): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((r) => r.status === 'Error')?.migrationName;
  const detail = error instanceof Error ? error.message : String(error);
  throw new Error(`SQLite migration ${failed ?? '(setup)'} failed: ${detail}`, { cause: error });
}

/** true when every migration the provider knows has been applied. */
export async function isMigrated(db: Kysely<StoreSchema>, provider: MigrationProvider): Promise<boolean> {
  const migrations = await new Migrator({ db, provider }).getMigrations();
  return migrations.every((m) => m.executedAt !== undefined);
}
