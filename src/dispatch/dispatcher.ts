import { newAttemptId } from '../lib/ids';
import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import type { ClaimedDelivery, ClaimRequest, NextState, Store } from '../store/types';
import type { LiveSubscriptions, Route } from '../subscriptions/live-set';
import { recordedHeaders } from '../subscriptions/redact';
import type { Target } from '../subscriptions/target';
import { buildRequest } from './build-request';
import { createCompletionWriter } from './completion-writer';
import { AttemptAbort, type Deliverer } from './deliver';
import { createMaintenance } from './maintenance';
import { nextState, type Outcome } from './retry-policy';
import { capacityOf } from '../lib/token-bucket';
import { createStartLimiter } from './start-limiter';
import { PLATFORM, WorkSet } from './work-set';

export interface DispatcherOptions {
  /** Lease owner name of this process. */
  owner: string;
  /** Attempts in flight across all subscriptions. */
  concurrency: number;
  headerPrefix: string;
  userAgent: string;
  /** `delivery.visible_headers`, read at each attempt (a reload applies it); default none: every custom header value is recorded as `[redacted]`. */
  visibleHeaders?: () => readonly string[];
  /** Safety-net poll period (ms) when nothing nudges the loop. Default 1000. */
  pollIntervalMs?: number;
  /**
   * How often the store's waiting subscriptions are read even when nothing asked (ms). Default: the
   * poll period, since other instances sharing the store make work this one hears of only so (a
   * NOTIFY can be lost); a store one process owns can afford a long one.
   */
  rescanIntervalMs?: number;
  /** Lease kept beyond the attempt timeout before another process may take the delivery over (ms). */
  leaseMarginMs?: number;
  /** Uniform random in [0,1) for jitter; injected by tests. */
  random?: () => number;
  /** Called once per finished attempt (after its result is written), e.g. for metrics. */
  onAttempt?: (attempt: AttemptObservation) => void;
}

/** One finished attempt as an observer (metrics) sees it. */
export interface AttemptObservation {
  subscriptionId: string;
  /** The subscription's tenant; null for a platform subscription (metrics label those only by id). */
  tenant: string | null;
  /** HTTP status, null when there was no answer (network error, timeout, blocked destination). */
  status: number | null;
  /** How deliver() classified it; `fail` with a null status is a blocked destination. */
  kind: Outcome['kind'];
  durationMs: number;
  /** The delivery's state after this attempt. */
  outcome: NextState['status'];
  /** False when the result could not be recorded (lease lost, store unavailable). */
  written: boolean;
}

export interface DispatcherDeps {
  store: Store;
  /** The store's judgement that an error means storage cannot answer now (an outage, not a bug). */
  isUnavailable: (err: unknown) => boolean;
  subscriptions: LiveSubscriptions;
  clock: Clock;
  logger: Logger;
  deliverer: Deliverer;
}

/** First pause before claiming again once storage is found unavailable, ms; doubled each failed try. */
const OUTAGE_FIRST_RETRY_MS = 100;
/** Longest pause between claims while storage is unavailable, ms: dispatch resumes within it of recovery. */
const OUTAGE_MAX_RETRY_MS = 1000;
/**
 * A sixteenth of `delivery.concurrency` (none below 16) is kept for tenants with nothing in
 * flight, one slot each: another tenant's new event finds a slot even when hanging endpoints hold the rest.
 */
const RESERVE_DIVISOR = 16;
/** Pause before a rate-limited subscription claims again after its shared bucket (Postgres) was found empty, ms. */
const SHARED_BUCKET_RETRY_MS = 100;

/** Abort reason of attempts interrupted by shutdown (as opposed to their own timeout). */
const SHUTDOWN = new Error('shutdown');

interface InFlight {
  subscriptionId: string;
  abort: AttemptAbort;
  done: Promise<void>;
}

/**
 * Claims due deliveries with a lease and runs their attempts. Ingest calls nudge() after each
 * commit so new work starts within milliseconds; a timer set to the next due retry (and a slow
 * poll) is the safety net. Each subscription is capped at its max_in_flight and claims in a fair
 * share of the free slots, so a slow or dead receiver only ever occupies its own slots. A
 * `rate_limit` spends tokens per attempt started (an empty bucket sets the timer to the next
 * token); `ordering: fifo` claims the head only (the store decides what the head is).
 */
export function createDispatcher(deps: DispatcherDeps, opts: DispatcherOptions) {
  const { store, subscriptions, clock, logger } = deps;
  const pollIntervalMs = opts.pollIntervalMs ?? 1000;
  const leaseMarginMs = opts.leaseMarginMs ?? 60_000;
  const writer = createCompletionWriter(store, logger, () => clock.now());
  const inFlight = new Map<string, InFlight>();
  const perSubscription = new Map<string, number>();
  // Per-subscription rate_limit (in memory, this process only) and the auto-disable/rescue tick.
  const limiter = createStartLimiter(() => clock.now());
  // A lease expires leaseMarginMs after its attempt's timeout; look for expired ones at least twice per margin.
  const maintenance = createMaintenance({
    store,
    isUnavailable: deps.isUnavailable,
    subscriptions,
    clock,
    logger,
    onRescued: () => nudge(),
    maxIntervalMs: Math.max(1000, leaseMarginMs / 2),
  });
  /** Which subscriptions may have work, by tenant: what claims are planned from (see WorkSet). */
  const work = new WorkSet();
  /** Attempts in flight per group (a tenant, or PLATFORM), and which of its subscriptions have some. */
  const running = new Map<string, { attempts: number; subs: Set<string> }>();
  const rescanMs = opts.rescanIntervalMs ?? pollIntervalMs;
  /** Read the store's waiting subscriptions at the next claim: at start, after an outage, on a nudge naming none. */
  let scanWanted = true;
  let nextScanAt = 0;
  let pumping = false;
  let again = false;
  let stopping = false;
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  let stopPromise: Promise<void> | undefined;
  /** Set while storage cannot answer: claims back off, and the outage is logged once at each end. */
  let outage: { since: number; retryMs: number } | undefined;
  /** Callers of nextSignal() waiting for the next finished attempt or claim. */
  const waiters = new Set<() => void>();
  const signal = () => {
    for (const resolve of waiters) resolve();
    waiters.clear();
  };

  const groupOf = (t: Pick<Route, 'tenant'>) => t.tenant ?? PLATFORM;

  /** These subscriptions may have work due now (ingest, another instance's wake-up, a change). */
  function markDue(ids: Iterable<string>): void {
    for (const id of ids) {
      const t = subscriptions.route(id);
      if (t?.enabled) work.due(id, groupOf(t));
    }
  }

  /** Reads which subscriptions have waiting deliveries: one probe per such subscription in the store. */
  async function scan(now: number): Promise<void> {
    scanWanted = false;
    nextScanAt = now + rescanMs;
    for (const w of await store.waitingSubscriptions()) {
      const t = subscriptions.route(w.subscriptionId);
      if (t?.enabled) work.dueAt(t.id, groupOf(t), w.nextDueAt, now);
    }
  }

  /** Claims what fits and starts those attempts; returns how many started. */
  async function runOnce(): Promise<number> {
    if (stopping) return 0;
    let startedCount = 0;
    // During an outage every try reads the store: a round that found nothing to claim must not pass for a recovery.
    if (scanWanted || outage !== undefined || clock.now() >= nextScanAt) await scan(clock.now());
    // Several rounds: capacity a subscription did not use (nothing due) goes to those that filled theirs.
    for (let round = 0; round < 4; round++) {
      const now = clock.now();
      work.promote(now);
      const { requests, stamps } = planClaims(now);
      if (requests.length === 0) break;
      const batch = await store.claimDue(requests, opts.owner, now);
      for (const delivery of batch.deliveries) launch(delivery);
      startedCount += batch.deliveries.length;
      if (batch.deliveries.length > 0) signal();
      const counts = new Map<string, number>();
      for (const d of batch.deliveries) counts.set(d.subscriptionId, (counts.get(d.subscriptionId) ?? 0) + 1);
      for (const [id, n] of counts) limiter.spend(id, subscriptions.get(id)?.rateLimit ?? null, n);
      let full = false;
      for (const r of requests) {
        const got = counts.get(r.subscriptionId) ?? 0;
        if (got === r.limit) full = true;
        // Marked while the claim ran (an ingest, a finished attempt): that mark is newer than this answer.
        if (work.stampOf(r.subscriptionId) !== stamps.get(r.subscriptionId)) continue;
        settle(r.subscriptionId, got < r.limit, batch.nextDueAt.get(r.subscriptionId), now);
      }
      if (!full) break;
    }
    return startedCount;
  }

  /** What a claim said of a subscription's remaining work: due now (stays), later (a time), or none. */
  function settle(id: string, short: boolean, next: number | null | undefined, now: number): void {
    const t = subscriptions.get(id);
    if (t === undefined || next === null) {
      work.idle(id);
      return;
    }
    // A shared rate bucket ran dry before the claim looked: try again once a token may be back.
    if (next === undefined) {
      if (short) work.dueAt(id, groupOf(t), now + SHARED_BUCKET_RETRY_MS, now);
      return;
    }
    if (next > now) work.dueAt(id, groupOf(t), next, now);
  }

  /**
   * SPEC 4: the free slots go first to the tenants (groups) with work, the platform's subscriptions
   * counting as one, each capped at its share of `concurrency` among the groups competing (with work
   * due or attempts in flight); within a group, to its due subscriptions in turn, each capped at its
   * share of the group's part, its `max_in_flight` and its `rate_limit`. So a tenant whose 200
   * endpoints hang holds one tenant's part, and one that hangs never takes the others' slots; the
   * reserve (RESERVE_DIVISOR) keeps a slot for a newcomer even when one tenant had them all. Only
   * groups and subscriptions with work due are looked at, a bounded number per round.
   */
  function planClaims(now: number): { requests: ClaimRequest[]; stamps: Map<string, number> } {
    const requests: ClaimRequest[] = [];
    const stamps = new Map<string, number>();
    // Results waiting to be written beyond one round of attempts take slots too: a store slower
    // than the receivers cannot pile them up without bound.
    let free = opts.concurrency - inFlight.size - Math.max(0, writer.waiting() - opts.concurrency);
    if (free <= 0 || work.dueGroupCount === 0) return { requests, stamps };
    const groupCap = Math.ceil(opts.concurrency / Math.max(1, competingGroups()));
    const reserve = Math.floor(opts.concurrency / RESERVE_DIVISOR);
    // The next groups in turn (rotate() reorders the live view, so take the keys first).
    const turn: string[] = [];
    for (const [group] of work.dueGroups()) if (turn.push(group) >= 2 * free + 32) break;
    const share = Math.max(1, Math.floor(free / turn.length));
    for (const group of turn) {
      if (free <= 0) break;
      work.rotate(group);
      const held = running.get(group)?.attempts ?? 0;
      // The last `reserve` slots go one at a time to groups with nothing in flight: a tenant whose
      // endpoints hang cannot fill every slot before another tenant's first event arrives.
      const usable = held > 0 ? free - reserve : Math.max(1, free - reserve);
      let budget = Math.min(share, usable, groupCap - held);
      if (budget <= 0) continue;
      const subCap = Math.ceil(groupCap / Math.max(1, competingSubs(group)));
      const due = [...takeFirst(work.dueIn(group), budget + 16)];
      for (const id of due) {
        if (budget <= 0) break;
        const t = subscriptions.get(id);
        if (t === undefined || !t.enabled) {
          work.idle(id);
          continue;
        }
        const limit = Math.min(budget, claimable(t, subCap, now));
        if (limit <= 0) continue;
        work.rotate(group, id);
        stamps.set(id, work.stampOf(id));
        requests.push({
          subscriptionId: id,
          limit,
          leaseExpiresAt: now + t.timeoutMs + leaseMarginMs,
          ...(t.fifo && { fifo: true }),
          ...(t.rateLimit && { rateLimit: { ...t.rateLimit, burst: capacityOf(t.rateLimit) } }),
        });
        budget -= limit;
        free -= limit;
      }
    }
    return { requests, stamps };
  }

  /**
   * How many deliveries `t` may claim now: below its max_in_flight and its share `subCap`, with a
   * rate_limit token. One that may not is parked (an attempt's end brings it back) or, waiting for a
   * token, set to the token's time. With attempts in flight it refills only once a batch of its
   * slots is free (low-water mark): a claim per finished attempt would cost a transaction per
   * delivery; with none in flight it always claims, so an idle subscription's new event starts at once.
   */
  function claimable(t: Target, subCap: number, now: number): number {
    const mine = perSubscription.get(t.id) ?? 0;
    const refill = mine === 0 ? 1 : Math.max(1, Math.min(16, Math.floor(t.maxInFlight / 4)));
    const room = Math.min(t.maxInFlight - mine, subCap - mine);
    if (room < refill) {
      work.park(t.id);
      return 0;
    }
    const tokens = limiter.available(t.id, t.rateLimit);
    if (tokens < 1) {
      work.dueAt(t.id, groupOf(t), now + Math.max(1, limiter.waitMs(t.id, t.rateLimit)), now);
      return 0;
    }
    return Math.min(room, tokens);
  }

  /** Groups with work: due subscriptions or attempts in flight (idle groups do not count: one busy tenant gets every slot). */
  function competingGroups(): number {
    let n = work.dueGroupCount;
    for (const [group, r] of running) if (r.attempts > 0 && work.dueIn(group).size === 0) n++;
    return n;
  }

  /** Subscriptions of `group` with work: due, or with attempts in flight. */
  function competingSubs(group: string): number {
    const due = work.dueIn(group);
    let n = due.size;
    for (const id of running.get(group)?.subs ?? []) if (!due.has(id)) n++;
    return n;
  }

  function launch(delivery: ClaimedDelivery): void {
    const id = delivery.subscriptionId;
    const group = subscriptions.route(id)?.tenant ?? PLATFORM;
    const abort = new AttemptAbort();
    perSubscription.set(id, (perSubscription.get(id) ?? 0) + 1);
    let r = running.get(group);
    if (r === undefined) running.set(group, (r = { attempts: 0, subs: new Set() }));
    r.attempts++;
    r.subs.add(id);
    const entry: InFlight = { subscriptionId: id, abort, done: Promise.resolve() };
    inFlight.set(delivery.id, entry);
    // The slot is free once the receiver has answered (or the attempt ended otherwise); the result's
    // write may come later (the completion writer's window).
    let freed = false;
    const freeSlot = () => {
      if (freed) return;
      freed = true;
      inFlight.delete(delivery.id);
      const left = (perSubscription.get(id) ?? 1) - 1;
      if (left > 0) perSubscription.set(id, left);
      else perSubscription.delete(id);
      if (--r.attempts === 0) running.delete(group);
      else if (left === 0) r.subs.delete(id);
      work.unpark(id);
      signal();
      wake();
    };
    entry.done = attempt(delivery, abort, freeSlot)
      .catch((err) => logger.error({ err, delivery_id: delivery.id }, 'attempt crashed'))
      .finally(freeSlot);
  }

  async function attempt(delivery: ClaimedDelivery, abort: AttemptAbort, freeSlot: () => void): Promise<void> {
    const target = subscriptions.get(delivery.subscriptionId);
    if (!target) {
      // Removed from the config while claimed: give it back untouched; it waits until the id returns.
      await store.release([delivery.id], opts.owner, clock.now());
      work.idle(delivery.subscriptionId);
      return;
    }
    const number = delivery.attempts + 1;
    const attemptId = newAttemptId(clock.now());
    const startedAt = clock.now();
    const request = buildRequest(target, delivery, {
      headerPrefix: opts.headerPrefix,
      userAgent: opts.userAgent,
      attemptId,
      attempt: number,
      now: startedAt,
    });
    const response = await deps.deliverer.deliver(request, { timeoutMs: target.timeoutMs, abort, tenant: target.tenant !== null });
    if (abort.reason === SHUTDOWN) {
      // Cut short by shutdown: not the receiver's fault, so the attempt is not spent.
      await store.release([delivery.id], opts.owner, clock.now());
      logger.info(
        { delivery_id: delivery.id, event_id: delivery.event.id, subscription: target.id },
        'attempt interrupted by shutdown; delivery put back',
      );
      return;
    }
    const now = clock.now();
    // Removed (admin API, reload) while the attempt ran: keep the record, stop there.
    const removed = subscriptions.route(target.id) === undefined;
    const next: NextState = removed
      ? { status: 'cancelled' }
      : nextState({ attempt: number, outcome: response.outcome, now, policy: target.policy, ...(opts.random && { random: opts.random }) });
    const gone = response.outcome.kind === 'gone';
    // The delivery stays leased until its result is written, so no claim takes it again meanwhile.
    // Two results hold their slot until written, and are written without waiting for the batch
    // window: a fifo subscription's (its next delivery waits for it), and a 410 (the subscription's
    // disable is in force before anything else is sent to it).
    const ordered = target.fifo || gone;
    if (!ordered) freeSlot();
    const written = await writer.write(
      {
        deliveryId: delivery.id,
        subscriptionId: target.id,
        leaseOwner: opts.owner,
        next,
        ...(gone && { disableSubscription: `receiver answered 410 Gone at ${new Date(now).toISOString()}` }),
        record: {
          id: attemptId,
          attempt: number,
          startedAt,
          durationMs: response.durationMs,
          requestUrl: request.url,
          requestHeaders: recordedHeaders(request.headers, request.customHeaders, opts.visibleHeaders?.() ?? []),
          responseStatus: response.status,
          responseHeaders: response.headers,
          responseBody: response.body,
          error: response.outcome.kind === 'ok' ? null : response.outcome.error,
        },
      },
      ordered,
    );
    // The disable is in the store now: bring it into force here (other instances read the change log).
    if (gone && written) await subscriptions.refresh().catch((err) => logger.warn({ err }, 'could not apply the 410 disable yet'));
    // A fifo subscription's next delivery is its new head; a retry is due at its time.
    if (written && !removed) {
      if (target.fifo) work.due(target.id, groupOf(target));
      else if (next.status === 'retrying') work.dueAt(target.id, groupOf(target), next.nextAttemptAt, clock.now());
    }
    logAttempt(target, delivery, number, attemptId, response, next, written);
    opts.onAttempt?.({
      subscriptionId: target.id,
      tenant: target.tenant,
      status: response.status,
      kind: response.outcome.kind,
      durationMs: response.durationMs,
      outcome: next.status,
      written,
    });
  }

  function logAttempt(
    target: Target,
    delivery: ClaimedDelivery,
    number: number,
    attemptId: string,
    response: Awaited<ReturnType<Deliverer['deliver']>>,
    next: NextState,
    written: boolean,
  ): void {
    const fields = {
      event_id: delivery.event.id,
      event_type: delivery.event.type,
      delivery_id: delivery.id,
      attempt_id: attemptId,
      subscription: target.id,
      attempt: number,
      status: response.status,
      duration_ms: response.durationMs,
      outcome: next.status,
      ...(next.status === 'retrying' && { next_attempt_at: new Date(next.nextAttemptAt).toISOString() }),
      ...(response.outcome.kind !== 'ok' && { error: response.outcome.error }),
    };
    if (!written) logger.warn(fields, 'attempt result not recorded: lease lost or store unavailable');
    else if (next.status === 'succeeded') logger.info(fields, 'attempt succeeded');
    else if (next.status === 'failed') logger.warn(fields, 'delivery failed for good');
    else if (next.status === 'cancelled') logger.info(fields, 'attempt finished after its subscription was removed; delivery cancelled');
    else logger.info(fields, 'attempt failed; will retry');
  }

  /**
   * New work may be due: for these subscriptions (an ingest's fan-out, a wake-up naming them), or,
   * without ids, for any (an admin action, a rescue): the store's waiting subscriptions are read.
   */
  function nudge(subscriptionIds?: Iterable<string>): void {
    if (subscriptionIds === undefined) scanWanted = true;
    else markDue(subscriptionIds);
    wake();
  }

  /** Asks for a claim soon; calls within one turn of the event loop coalesce. */
  function wake(): void {
    if (stopping || !started) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    setImmediate(pump);
  }

  async function pump(): Promise<void> {
    try {
      for (;;) {
        again = false;
        await runOnce();
        if (outage) recovered();
        if (!again) await armTimer();
        // A nudge that came while claiming or arming the timer must not be lost.
        if (!again || stopping) break;
      }
    } catch (err) {
      arm(failed(err));
    } finally {
      pumping = false;
    }
  }

  /**
   * A claim round failed. Storage that cannot answer (connection lost, server restarting, disk
   * full) pauses dispatch: one log line when the outage starts, then claims are retried with a
   * growing pause (at most OUTAGE_MAX_RETRY_MS, so work resumes within that of recovery). Anything
   * else is logged each time. Returns the pause before the next try.
   */
  function failed(err: unknown): number {
    if (!deps.isUnavailable(err)) {
      logger.error({ err }, 'dispatcher could not claim deliveries; retrying shortly');
      return pollIntervalMs;
    }
    if (outage) {
      outage.retryMs = Math.min(OUTAGE_MAX_RETRY_MS, outage.retryMs * 2);
    } else {
      outage = { since: clock.now(), retryMs: OUTAGE_FIRST_RETRY_MS };
      logger.warn({ err }, 'storage unavailable: dispatch paused');
    }
    return outage.retryMs;
  }

  /** A claim round worked again after an outage: say so once, and look at every subscription. */
  function recovered(): void {
    logger.info({ outage_ms: clock.now() - outage!.since }, 'storage available again: dispatch resumed');
    outage = undefined;
    // Whatever was committed meanwhile (and wake-ups that were lost) may be due now.
    scanWanted = true;
    again = true;
  }

  /** Sleep until the next known due time (a retry, a rate_limit token), the next scan, or the poll period. */
  async function armTimer(): Promise<void> {
    if (stopping) return;
    const until = Math.min(work.nextAt(), nextScanAt) - clock.now();
    arm(Math.max(0, Math.min(pollIntervalMs, until)));
  }

  function arm(delayMs: number): void {
    clearTimeout(timer);
    if (stopping) return;
    timer = setTimeout(wake, delayMs);
    timer.unref();
  }

  return {
    /** Start the loop. With `rescueAll` (SQLite: one process owns the file) leases left by a crash are released at once. */
    async start({ rescueAll = false }: { rescueAll?: boolean } = {}): Promise<void> {
      const rescued = await store.rescueExpired(clock.now(), { all: rescueAll });
      if (rescued > 0) logger.warn({ deliveries: rescued }, 'deliveries left in flight by a previous process will be tried again');
      started = true;
      maintenance.start();
      nudge();
    },
    nudge,
    runOnce,
    /**
     * Resolves after the next finished attempt (its result written) or started claim, or after
     * `maxMs` at the latest: tests wait on what the dispatcher did instead of polling on a timer.
     */
    nextSignal(maxMs: number): Promise<void> {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters.delete(done);
          resolve();
        }, maxMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        waiters.add(done);
      });
    },
    /** One maintenance tick now (expired leases, auto-disable); it also runs on its own timer. */
    maintain: maintenance.runOnce,
    /** true while storage is unavailable and dispatch is paused. */
    paused: () => outage !== undefined,
    /** Attempts in flight right now. */
    inFlightCount: () => inFlight.size,
    /**
     * Stop claiming; let attempts in flight finish for up to `graceMs`, then abort the rest and put
     * them back without spending an attempt. Calling it again returns the same promise.
     */
    stop(graceMs: number): Promise<void> {
      stopPromise ??= (async () => {
        stopping = true;
        clearTimeout(timer);
        await maintenance.stop();
        const all = () => Promise.all([...inFlight.values()].map((f) => f.done));
        const grace = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
        if ((await Promise.race([all(), grace])) === 'timeout') {
          logger.warn({ attempts: inFlight.size }, 'shutdown grace period over; interrupting attempts in flight');
          for (const f of inFlight.values()) f.abort.abort(SHUTDOWN);
          await all();
        }
        await writer.drain();
      })();
      return stopPromise;
    },
  };
}

export type DispatcherHandle = ReturnType<typeof createDispatcher>;

/** The first `n` members of a set, in its order. */
function* takeFirst<T>(items: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return;
  let i = 0;
  for (const item of items) {
    yield item;
    if (++i >= n) return;
  }
}
