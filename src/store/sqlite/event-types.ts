import type Database from 'better-sqlite3';
import { EVENT_TYPE_SQL, type EventTypeRow, toEventType } from '../sql/event-types';
import type { EventTypeCatalog } from '../types';
import { immediateWriter } from './write-transaction';

/** The event type catalog over one connection, prepared on first use. One writer at a time: versions are in commit order. */
export function createEventTypes(db: Database.Database) {
  const prepare = <R>(sql: string) => db.prepare<[Record<string, unknown>], R>(sql);
  const s = {
    version: prepare<{ version: number }>(EVENT_TYPE_SQL.version),
    raise: prepare<{ version: number }>(EVENT_TYPE_SQL.raise),
    list: prepare<EventTypeRow>(EVENT_TYPE_SQL.list),
    exists: prepare<{ found: number }>(EVENT_TYPE_SQL.exists),
    insert: prepare(EVENT_TYPE_SQL.insert),
    replace: prepare(EVENT_TYPE_SQL.replace),
    delete: prepare(EVENT_TYPE_SQL.delete),
  };
  const write = immediateWriter(db);
  return {
    version: (): number => s.version.get({})!.version,
    // One read transaction: the version and the rows are of the same moment.
    list: (): EventTypeCatalog => db.transaction(() => ({ version: s.version.get({})!.version, types: s.list.all({}).map(toEventType) }))(),
    put: write((name: string, spec: Record<string, unknown>, now: number) => {
      const version = s.raise.get({})!.version;
      const params = { name, spec: JSON.stringify(spec), version, now };
      const outcome = s.exists.get({ name }) ? ('replaced' as const) : ('created' as const);
      if (outcome === 'created') s.insert.run(params);
      else s.replace.run(params);
      return { outcome, version };
    }),
    delete: write((name: string): boolean => {
      if (s.delete.run({ name }).changes === 0) return false;
      s.raise.get({});
      return true;
    }),
  };
}

/** Event type reads and writes of one store. */
export type EventTypes = ReturnType<typeof createEventTypes>;
