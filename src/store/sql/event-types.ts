import type { StoredEventType } from '../types';

/*
 * The event type catalog (SPEC 11), the part both backends share: row shape and mapping. Each
 * backend raises `event_type_catalog.version` in the transaction of every put or delete, and the
 * row it writes carries that version.
 */

/** A row of `event_types`. */
export interface EventTypeRow {
  name: string;
  /** JSON text of the definition as accepted. */
  spec: string;
  version: number;
  created_at: number;
  updated_at: number;
}

/** A StoredEventType from its row. */
export function toEventType(row: EventTypeRow): StoredEventType {
  return {
    name: row.name,
    spec: JSON.parse(row.spec) as Record<string, unknown>,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** SQL both dialects accept (`@name` parameters, see postgres/run.ts). */
export const EVENT_TYPE_SQL = {
  version: `SELECT version FROM event_type_catalog WHERE id = 1`,
  // Writers queue on this one row until they commit, so versions become visible in order.
  raise: `UPDATE event_type_catalog SET version = version + 1 WHERE id = 1 RETURNING version`,
  list: `SELECT name, spec, version, created_at, updated_at FROM event_types ORDER BY name`,
  exists: `SELECT 1 AS found FROM event_types WHERE name = @name`,
  insert: `INSERT INTO event_types (name, spec, version, created_at, updated_at) VALUES (@name, @spec, @version, @now, @now)`,
  replace: `UPDATE event_types SET spec = @spec, version = @version, updated_at = @now WHERE name = @name`,
  delete: `DELETE FROM event_types WHERE name = @name`,
} as const;
