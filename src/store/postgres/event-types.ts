import { EVENT_TYPE_SQL, type EventTypeRow, toEventType } from '../sql/event-types';
import type { EventTypeCatalog } from '../types';
import type { Runner } from './run';

/* The event type catalog in Postgres (shared SQL: sql/event-types.ts). */

const UPSERT = `INSERT INTO event_types AS t (name, spec, version, created_at, updated_at) VALUES (@name, @spec, @version, @now, @now)
  ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
  RETURNING (xmax = 0) AS created`;

/** The catalog version. */
export async function eventTypesVersion(run: Runner): Promise<number> {
  return (await run.rows<{ version: number }>(EVENT_TYPE_SQL.version))[0]!.version;
}

/** The version first, then the rows: a change committed in between is read again at the next version. */
export async function listEventTypes(run: Runner): Promise<EventTypeCatalog> {
  const version = await eventTypesVersion(run);
  const rows = await run.rows<EventTypeRow>(EVENT_TYPE_SQL.list);
  return { version, types: rows.map(toEventType) };
}

/** Raises the version first: its row lock makes two puts of one new name take turns, so the upsert decides created or replaced. */
export async function putEventType(
  tx: Runner,
  name: string,
  spec: Record<string, unknown>,
  now: number,
  notify: (tx: Runner) => Promise<void>,
): Promise<{ outcome: 'created' | 'replaced'; version: number }> {
  const [raised] = await tx.rows<{ version: number }>(EVENT_TYPE_SQL.raise);
  const version = raised!.version;
  const [row] = await tx.rows<{ created: boolean }>(UPSERT, { name, spec: JSON.stringify(spec), version, now });
  await notify(tx);
  return { outcome: row!.created ? 'created' : 'replaced', version };
}

/** Deletes one type; raises the version and notifies only when there was one. */
export async function deleteEventType(tx: Runner, name: string, notify: (tx: Runner) => Promise<void>): Promise<boolean> {
  if ((await tx.count(EVENT_TYPE_SQL.delete, { name })) === 0) return false;
  await tx.rows(EVENT_TYPE_SQL.raise);
  await notify(tx);
  return true;
}
