import { type FailedDeliveryRow, type FailureReportRow, failedOccurrence, listedReports, OPERATIONAL_SQL } from '../sql/operational';
import type { OperationalHooks, OperationalOccurrence } from '../types';
import { ingestGroup } from './ingest';
import type { Runner } from './run';

/**
 * Operational events in one Postgres transaction (as sqlite/operational.ts). `shift` moves the
 * caller's clock onto the database's (the event's created_at); `now` is on the database clock.
 * `woken` collects the subscriptions that got deliveries, for the transaction's NOTIFY.
 */
export interface PgEmitter {
  tx: Runner;
  hooks: OperationalHooks;
  shift: number;
  woken: Set<string>;
}

/** Stores the occurrence's event in the emitter's transaction (the caller decided it, once). */
export async function emit(e: PgEmitter, occurrence: OperationalOccurrence): Promise<void> {
  const event = e.hooks.eventOf(occurrence);
  if (event === null) return;
  const [result] = await ingestGroup(e.tx, [[event]], e.shift);
  if (result?.kind !== 'ok') return;
  for (const id of event.subscriptionIds) e.woken.add(id);
  for (const id of event.tenantSubscriptionIds ?? []) e.woken.add(id);
}

/** Reports the queued failed deliveries of one subscription if its window allows; true when it emitted. */
export async function reportFailures(e: PgEmitter, id: string, now: number): Promise<boolean> {
  const cutoff = now - e.hooks.reportWindowMs;
  const [taken] = await e.tx.rows<{ id: string }>(OPERATIONAL_SQL.announceFailureReport, { id, now, cutoff });
  if (taken === undefined) return false;
  const reports = await e.tx.rows<FailureReportRow>(OPERATIONAL_SQL.takeFailureReports, { id });
  if (reports.length === 0) return false;
  const rows: (FailedDeliveryRow | undefined)[] = [];
  for (const deliveryId of listedReports(reports))
    rows.push((await e.tx.rows<FailedDeliveryRow>(OPERATIONAL_SQL.failedDelivery, { id: deliveryId }))[0]);
  await emit(e, failedOccurrence(id, reports.length, rows));
  return true;
}

/** Store.reportFailedDeliveries in the emitter's transaction. */
export async function reportDueFailures(e: PgEmitter, now: number): Promise<number> {
  const due = await e.tx.rows<{ id: string }>(OPERATIONAL_SQL.dueFailureReports, { cutoff: now - e.hooks.reportWindowMs });
  let emitted = 0;
  for (const { id } of due) if (await reportFailures(e, id, now)) emitted++;
  return emitted;
}

/** Store.checkBacklog in the emitter's transaction. */
export async function checkBacklog(e: PgEmitter, now: number, ageMs: number): Promise<number> {
  const cutoff = now - ageMs;
  await e.tx.count(OPERATIONAL_SQL.settleBacklogs, { cutoff });
  const late = await e.tx.rows<{ subscription_id: string; backlog: string | number; oldest: string | number }>(
    OPERATIONAL_SQL.lateBacklogs,
    {
      cutoff,
    },
  );
  let emitted = 0;
  for (const row of late) {
    const [taken] = await e.tx.rows<{ id: string }>(OPERATIONAL_SQL.announceBacklog, { id: row.subscription_id, now });
    if (taken === undefined) continue;
    await emit(e, {
      type: 'hookrelay.backlog.delayed',
      subscriptionId: row.subscription_id,
      oldestWaitingAgeMs: now - Number(row.oldest),
      backlog: Number(row.backlog),
    });
    emitted++;
  }
  return emitted;
}

/** Disables a subscription and emits `disabled` if it was not disabled yet; the caller writes the rest. */
export async function announceDisabled(e: PgEmitter, id: string, reason: string, now: number): Promise<void> {
  const [changed] = await e.tx.rows<{ id: string }>(OPERATIONAL_SQL.announceDisabled, { id, reason, now });
  if (changed !== undefined) await emit(e, { type: 'hookrelay.subscription.disabled', subscriptionId: id, reason });
}
