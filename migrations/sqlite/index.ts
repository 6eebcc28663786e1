import type { Migration, MigrationProvider } from 'kysely';
import { init } from './0001-init';
import { admin } from './0002-admin';
import { scheduling } from './0003-scheduling';
import { subscriptionChanges } from './0004-subscription-changes';
import { tenants } from './0005-tenants';
import { tenantTokens } from './0006-tenant-tokens';
import { tenantErasures } from './0007-tenant-erasures';
import { eventTypes } from './0008-event-types';
import { portal } from './0009-portal';
import { eventTestFlag } from './0010-event-test-flag';
import { operationalEvents } from './0011-operational-events';

/**
 * Every SQLite migration, by name. Kysely runs them in name order, so names start with a
 * zero-padded number. A static map (not a folder read at run time) so the bundle carries them.
 */
export const sqliteMigrations: Record<string, Migration> = {
  '0001-init': init,
  '0002-admin': admin,
  '0003-scheduling': scheduling,
  '0004-subscription-changes': subscriptionChanges,
  '0005-tenants': tenants,
  '0006-tenant-tokens': tenantTokens,
  '0007-tenant-erasures': tenantErasures,
  '0008-event-types': eventTypes,
  '0009-portal': portal,
  '0010-event-test-flag': eventTestFlag,
  '0011-operational-events': operationalEvents,
};

/** Hands the static map to Kysely's Migrator. */
export const sqliteMigrationProvider: MigrationProvider = {
  getMigrations: async () => sqliteMigrations,
};
