import { newAttemptId } from '../lib/ids';
import type { Clock } from '../lib/clock';
import type { Logger } from '../lib/logger';
import type { ClaimedDelivery, ClaimRequest, NextState, Store } from '../store/types';
import type { LiveSubscriptions } from '../subscriptions/live-set';
import { recordedHeaders } from '../subscriptions/redact';
import type { Target } from '../subscriptions/target';
import { buildRequest } from './build-request';
import { createCompletionWriter } from './completion-writer';
import type { Deliverer } from './deliver';
import { createMaintenance } from './maintenance';
import { nextState, type Outcome } from './retry-policy';
import { capacityOf } from '../lib/token-bucket';
import { createStartLimiter } from './start-limiter';

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

/** Abort reason of attempts interrupted by shutdown (as opposed to their own timeout). */
const SHUTDOWN = new Error('shutdown');

interface InFlight {
  subscriptionId: string;
  controller: AbortController;
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
  /**
   * Subscriptions whose last claim came back short: nothing else of theirs was due then. The claim
   * rounds that follow this dispatcher's own finished attempts skip them; at low rates most of those
   * rounds would be write transactions that find nothing. Whatever can make work due from outside
   * (an ingest commit, the admin API, a timer, a rescue) calls nudge(), which empties the set;
   * `epoch` counts those calls, so a claim that raced one never marks its subscription drained.
   */
  const drained = new Set<string>();
  let epoch = 0;
  /** Subscriptions whose last claim came back full: more of their deliveries are due. */
  const backlogged = new Set<string>();
  let rotation = 0;
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

  /** Claims what fits and starts those attempts; returns how many started. */
  async function runOnce(): Promise<number> {
    if (stopping) return 0;
    let startedCount = 0;
    // Several rounds: capacity a subscription did not use (nothing due) goes to those that filled theirs.
    for (let round = 0; round < 4; round++) {
      const requests = planClaims();
      if (requests.length === 0) break;
      const claimEpoch = epoch;
      const claimed = await store.claim(requests, opts.owner, clock.now());
      for (const delivery of claimed) launch(delivery);
      startedCount += claimed.length;
      if (claimed.length > 0) signal();
      const counts = new Map<string, number>();
      for (const d of claimed) counts.set(d.subscriptionId, (counts.get(d.subscriptionId) ?? 0) + 1);
      for (const [id, n] of counts) limiter.spend(id, subscriptions.get(id)?.rateLimit ?? null, n);
      // A claim that came back full means more is waiting: the subscription competes for slots.
      for (const r of requests) {
        if (counts.get(r.subscriptionId) === r.limit) {
          backlogged.add(r.subscriptionId);
          drained.delete(r.subscriptionId);
        } else {
          backlogged.delete(r.subscriptionId);
          if (epoch === claimEpoch) drained.add(r.subscriptionId);
        }
      }
      if (!requests.some((r) => counts.get(r.subscriptionId) === r.limit)) break;
    }
    return startedCount;
  }

  /**
   * Fair shares of the free global slots, rotating who goes first, capped per subscription. No
   * subscription may hold more than its fair part of `concurrency` (divided among those with work:
   * attempts in flight or a backlog), so one whose receiver hangs keeps its slots but never takes
   * the others': it cannot creep up to every slot as the healthy ones finish and free theirs.
   */
  function planClaims(): ClaimRequest[] {
    const targets = subscriptions.enabled().filter((t) => canClaim(t) && !drained.has(t.id));
    let free = opts.concurrency - inFlight.size;
    if (targets.length === 0 || free <= 0) return [];
    const fairCap = Math.ceil(opts.concurrency / Math.max(1, competing()));
    rotation = (rotation + 1) % targets.length;
    const ordered = [...targets.slice(rotation), ...targets.slice(0, rotation)];
    const share = Math.max(1, Math.floor(free / ordered.length));
    const now = clock.now();
    const requests: ClaimRequest[] = [];
    for (const t of ordered) {
      if (free <= 0) break;
      const running = perSubscription.get(t.id) ?? 0;
      const cap = Math.min(t.maxInFlight - running, fairCap - running, limiter.available(t.id, t.rateLimit));
      if (cap <= 0) continue;
      const limit = Math.min(share, free, cap);
      requests.push({
        subscriptionId: t.id,
        limit,
        leaseExpiresAt: now + t.timeoutMs + leaseMarginMs,
        ...(t.fifo && { fifo: true }),
        ...(t.rateLimit && { rateLimit: { ...t.rateLimit, burst: capacityOf(t.rateLimit) } }),
      });
      free -= limit;
    }
    return requests;
  }

  /**
   * How many subscriptions compete for slots now: those with attempts in flight or a backlog seen at
   * their last claim. Idle ones do not count, so one busy subscription among many idle ones still
   * gets every slot; a newly busy one counts from its first full claim on.
   */
  function competing(): number {
    const ids = new Set<string>();
    for (const [id, running] of perSubscription) if (running > 0) ids.add(id);
    for (const id of backlogged) if (subscriptions.get(id)?.enabled) ids.add(id);
    return ids.size;
  }

  /**
   * Below its max_in_flight, with a rate_limit token to spend. A subscription with attempts in
   * flight refills only once a batch of its slots is free (low-water mark): claiming one row per
   * finished attempt would cost a transaction per delivery. With nothing in flight it always claims,
   * so an idle subscription's new event starts at once.
   */
  function canClaim(t: Target): boolean {
    const running = perSubscription.get(t.id) ?? 0;
    const refill = running === 0 ? 1 : Math.max(1, Math.min(16, Math.floor(t.maxInFlight / 4)));
    return t.maxInFlight - running >= refill && limiter.available(t.id, t.rateLimit) >= 1;
  }

  /** ms until the first subscription held back only by its rate_limit gets a token (Infinity: none is). */
  function throttledWaitMs(): number {
    let wait = Infinity;
    for (const t of subscriptions.enabled()) {
      if (t.rateLimit === null || (perSubscription.get(t.id) ?? 0) >= t.maxInFlight) continue;
      wait = Math.min(wait, limiter.waitMs(t.id, t.rateLimit) || Infinity);
    }
    return wait;
  }

  function launch(delivery: ClaimedDelivery): void {
    const controller = new AbortController();
    perSubscription.set(delivery.subscriptionId, (perSubscription.get(delivery.subscriptionId) ?? 0) + 1);
    const entry: InFlight = { subscriptionId: delivery.subscriptionId, controller, done: Promise.resolve() };
    inFlight.set(delivery.id, entry);
    entry.done = attempt(delivery, controller)
      .catch((err) => logger.error({ err, delivery_id: delivery.id }, 'attempt crashed'))
      .finally(() => {
        inFlight.delete(delivery.id);
        perSubscription.set(delivery.subscriptionId, (perSubscription.get(delivery.subscriptionId) ?? 1) - 1);
        signal();
        wake();
      });
  }

  async function attempt(delivery: ClaimedDelivery, controller: AbortController): Promise<void> {
    const target = subscriptions.get(delivery.subscriptionId);
    if (!target) {
      // Removed from the config while claimed: give it back untouched; it waits until the id returns.
      await store.release([delivery.id], opts.owner, clock.now());
      drained.delete(delivery.subscriptionId);
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
    const response = await deps.deliverer.deliver(request, { timeoutMs: target.timeoutMs, controller, tenant: target.tenant !== null });
    if (controller.signal.reason === SHUTDOWN) {
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
    const removed = subscriptions.get(target.id) === undefined;
    const next: NextState = removed
      ? { status: 'cancelled' }
      : nextState({ attempt: number, outcome: response.outcome, now, policy: target.policy, ...(opts.random && { random: opts.random }) });
    const gone = response.outcome.kind === 'gone';
    const written = await writer.write({
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
    });
    // The disable is in the store now: bring it into force here (other instances read the change log).
    if (gone && written) await subscriptions.refresh().catch((err) => logger.warn({ err }, 'could not apply the 410 disable yet'));
    // A retry may be due at once; a fifo subscription's next delivery is its new head.
    if (target.fifo || next.status === 'retrying') drained.delete(target.id);
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

  /** New work may be due (from outside, or time passed): claim from every subscription soon. */
  function nudge(): void {
    epoch++;
    drained.clear();
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
    drained.clear();
    again = true;
  }

  /** Sleep until the next due retry, the next rate_limit token, or the poll period, whichever comes first. */
  async function armTimer(): Promise<void> {
    if (stopping) return;
    const enabled = subscriptions.enabled().filter(canClaim);
    const fifo = enabled.filter((t) => t.fifo).map((t) => t.id);
    const due =
      enabled.length > 0 && inFlight.size < opts.concurrency
        ? await store.nextDueAt(
            enabled.map((t) => t.id),
            fifo,
          )
        : null;
    const delay = due === null ? pollIntervalMs : Math.min(pollIntervalMs, Math.max(0, due - clock.now()));
    arm(Math.min(delay, throttledWaitMs()));
  }

  function arm(delayMs: number): void {
    clearTimeout(timer);
    if (stopping) return;
    timer = setTimeout(nudge, delayMs);
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
          for (const f of inFlight.values()) f.controller.abort(SHUTDOWN);
          await all();
        }
        await writer.drain();
      })();
      return stopPromise;
    },
  };
}

export type DispatcherHandle = ReturnType<typeof createDispatcher>;
