import type Database from 'better-sqlite3';
import type { TenantGate } from '../sql/ingest-plan';
import type { DueRow, HeadRow, WindowRow } from '../sql/rows';
import type { DeliveryStatus } from '../types';
import { CLAIM_SQL, type WindowId } from './claims';
import { COMPLETION_SQL } from './completion';
import { INGEST_SQL } from './ingest';
import { prepareOperational } from './operational';
import { CHANGES_SQL } from './subscription-changes';

/** SQL of the hot paths, prepared once per store (each text lives with its concern). Exported so tests can EXPLAIN them. */
export const SQL = {
  ...INGEST_SQL,
  ...CLAIM_SQL,
  ...COMPLETION_SQL,
  // In the transaction of every write that changes a subscription (see Store.subscriptionChangesSince).
  recordChange: CHANGES_SQL.append,
} as const;

type Params = Record<string, string | number | null>;

/** The prepared statements of one store. */
export function prepareStatements(db: Database.Database) {
  return {
    findEvent: db.prepare<{ id: string }, { content_hash: string; delivery_count: number }>(SQL.findEvent),
    findTenant: db.prepare<{ id: string }, TenantGate>(SQL.findTenant),
    insertEvent: db.prepare<Params>(SQL.insertEvent),
    insertDelivery: db.prepare<Params>(SQL.insertDelivery),
    selectWindow: db.prepare<{ subscriptionId: string }, WindowId>(SQL.selectWindow),
    selectWindowGuarded: db.prepare<{ subscriptionId: string }, WindowId>(SQL.selectWindowGuarded),
    selectRows: db.prepare<{ subscriptionId: string }, WindowRow>(SQL.selectRows),
    selectRowsGuarded: db.prepare<{ subscriptionId: string }, WindowRow>(SQL.selectRowsGuarded),
    claimRow: db.prepare<{ id: string }, DueRow>(SQL.claimRow),
    waiting: db.prepare<[], { subscription_id: string; at: number }>(SQL.waiting),
    finish: db.prepare<Params & { status: DeliveryStatus }>(SQL.finish),
    finishGuarded: db.prepare<Params & { status: DeliveryStatus }>(SQL.finishGuarded),
    insertAttempt: db.prepare<Params>(SQL.insertAttempt),
    recordSuccesses: db.prepare<{ ids: string; now: number }>(SQL.recordSuccesses),
    recordFailure: db.prepare<{ id: string; now: number; count: number }>(SQL.recordFailure),
    setEnabled: db.prepare<{ id: string; enabled: 0 | 1 | null; reason: string | null; now: number }>(SQL.setEnabled),
    recordChange: db.prepare<{ id: string; now: number }>(SQL.recordChange),
    rescueExpired: db.prepare<{ now: number; expiredBy: number }>(SQL.rescueExpired),
    nextDue: db.prepare<{ subscriptionId: string }, { at: number | null }>(SQL.nextDue),
    dueNow: db.prepare<{ id: string; now: number }>(SQL.dueNow),
    dueOrder: db.prepare<{ subscriptionId: string }, { id: string; next_attempt_at: number }>(SQL.dueOrder),
    fifoHead: db.prepare<{ subscriptionId: string }, HeadRow>(SQL.fifoHead),
    ...prepareOperational(db),
  };
}

/** The prepared hot-path statements of one store. */
export type Statements = ReturnType<typeof prepareStatements>;
