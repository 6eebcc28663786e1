import type { Migration, MigrationProvider } from 'kysely';
import { init } from './0001-init';
import { rateBuckets } from './0002-rate-buckets';
import { subscriptionChanges } from './0003-subscription-changes';
import { tenants } from './0004-tenants';
import { tenantTokens } from './0005-tenant-tokens';
import { tenantErasures } from './0006-tenant-erasures';
import { eventTypes } from './0007-event-types';
import { portal } from './0008-portal';
import { eventTestFlag } from './0009-event-test-flag';
import { operationalEvents } from './0010-operational-events';

/**
 * Every Postgres migration, by name, in a static map so the bundle carries them (as for SQLite).
 * Kysely's Postgres adapter runs them while holding a Postgres advisory lock (`pg_advisory_lock`), so
 * several relay instances starting at once queue instead of racing: one migrates, the others find
 * nothing left to do.
 */
export const postgresMigrations: Record<string, Migration> = {
  '0001-init': init,
  '0002-rate-buckets': rateBuckets,
  '0003-subscription-changes': subscriptionChanges,
  '0004-tenants': tenants,
  '0005-tenant-tokens': tenantTokens,
  '0006-tenant-erasures': tenantErasures,
  '0007-event-types': eventTypes,
  '0008-portal': portal,
  '0009-event-test-flag': eventTestFlag,
  '0010-operational-events': operationalEvents,
};

/** Hands the static map to Kysely's Migrator. */
export const postgresMigrationProvider: MigrationProvider = {
  getMigrations: async () => postgresMigrations,
};
