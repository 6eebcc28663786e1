import type Database from 'better-sqlite3';
import {
  backlogChecks,
  type FailedDeliveryRow,
  type FailureReportRow,
  failedOccurrence,
  listedReports,
  OPERATIONAL_SQL,
} from '../sql/operational';
import type { OperationalHooks, OperationalOccurrence } from '../types';
import { ingestRequest, type IngestStatements } from './ingest';

type Params = Record<string, string | number | null>;

/** The backlog checks without the deliveries leased in memory (@held, a JSON array; see leases.ts). */
export const SQLITE_BACKLOG_SQL = backlogChecks((id) => `AND ${id} NOT IN (SELECT value FROM json_each(@held))`);

/**
 * Clears the announced `failing` of those of these subscriptions (@ids, a JSON array) that had one,
 * returning when each began failing (run before their successes reset failing_since): a batch of
 * successes in one statement, one primary-key probe per id.
 */
export const ANNOUNCE_RECOVERED_AMONG_SQL = `UPDATE subscription_state SET failing_announced = 0
  WHERE id IN (SELECT value FROM json_each(@ids)) AND failing_announced = 1
  RETURNING id, failing_since`;

/** Prepares the statements of operational events (see OPERATIONAL_SQL). */
export function prepareOperational(db: Database.Database) {
  return {
    announceFailing: db.prepare<Params, { failure_streak: number }>(OPERATIONAL_SQL.announceFailing),
    announceRecoveredAmong: db.prepare<Params, { id: string; failing_since: number | null }>(ANNOUNCE_RECOVERED_AMONG_SQL),
    announceDisabled: db.prepare<Params, { id: string }>(OPERATIONAL_SQL.announceDisabled),
    queueFailureReport: db.prepare<Params>(OPERATIONAL_SQL.queueFailureReport),
    dueFailureReports: db.prepare<Params, { id: string }>(OPERATIONAL_SQL.dueFailureReports),
    announceFailureReport: db.prepare<Params, { id: string }>(OPERATIONAL_SQL.announceFailureReport),
    takeFailureReports: db.prepare<Params, FailureReportRow>(OPERATIONAL_SQL.takeFailureReports),
    failedDelivery: db.prepare<Params, FailedDeliveryRow>(OPERATIONAL_SQL.failedDelivery),
    lateBacklogs: db.prepare<Params, { subscription_id: string; backlog: number; oldest: number }>(SQLITE_BACKLOG_SQL.lateBacklogs),
    announceBacklog: db.prepare<Params, { id: string }>(OPERATIONAL_SQL.announceBacklog),
    settleBacklogs: db.prepare<Params>(SQLITE_BACKLOG_SQL.settleBacklogs),
  };
}

/** The prepared statements of operational events. */
export type OperationalStatements = ReturnType<typeof prepareOperational>;

/** What emitting needs: its own statements and ingest's (the event is stored like any other). */
export type EmitStatements = OperationalStatements & IngestStatements;

/** Stores the occurrence's event in the caller's transaction (the caller has decided it, once). */
export function emit(s: EmitStatements, ops: OperationalHooks, occurrence: OperationalOccurrence): void {
  const event = ops.eventOf(occurrence);
  if (event !== null) ingestRequest(s, [event]);
}

/** Reports the queued failed deliveries of one subscription if its window allows; true when it emitted. */
export function reportFailures(s: EmitStatements, ops: OperationalHooks, id: string, now: number): boolean {
  const cutoff = now - ops.reportWindowMs;
  if (s.announceFailureReport.get({ id, now, cutoff }) === undefined) return false;
  const taken = s.takeFailureReports.all({ id });
  if (taken.length === 0) return false;
  const rows = listedReports(taken).map((deliveryId) => s.failedDelivery.get({ id: deliveryId }));
  emit(s, ops, failedOccurrence(id, taken.length, rows));
  return true;
}

/** Every subscription's due report (Store.reportFailedDeliveries), in the caller's transaction. */
export function reportDueFailures(s: EmitStatements, ops: OperationalHooks, now: number): number {
  let emitted = 0;
  for (const { id } of s.dueFailureReports.all({ cutoff: now - ops.reportWindowMs })) if (reportFailures(s, ops, id, now)) emitted++;
  return emitted;
}

/** Store.checkBacklog in the caller's transaction; `held`: the leased ids, which are not waiting. */
export function checkBacklog(s: EmitStatements, ops: OperationalHooks, now: number, ageMs: number, held: string): number {
  const cutoff = now - ageMs;
  s.settleBacklogs.run({ cutoff, held });
  let emitted = 0;
  for (const late of s.lateBacklogs.all({ cutoff, held })) {
    if (s.announceBacklog.get({ id: late.subscription_id, now }) === undefined) continue;
    emit(s, ops, {
      type: 'hookrelay.backlog.delayed',
      subscriptionId: late.subscription_id,
      oldestWaitingAgeMs: now - late.oldest,
      backlog: late.backlog,
    });
    emitted++;
  }
  return emitted;
}

/** Disables a subscription and emits `disabled` if it was not disabled yet; the caller writes the rest (setEnabled). */
export function announceDisabled(s: EmitStatements, ops: OperationalHooks, id: string, reason: string, now: number): void {
  if (s.announceDisabled.get({ id, reason, now }) !== undefined) {
    emit(s, ops, { type: 'hookrelay.subscription.disabled', subscriptionId: id, reason });
  }
}
