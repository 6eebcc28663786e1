/**
 * The storage contract. The dispatcher, ingest and admin layers talk to storage only through this
 * interface, so SQLite (embedded default) and Postgres (several instances) are interchangeable.
 * Every time is epoch milliseconds and is passed in by the caller (injected clock), never read
 * inside SQL, except where a backend documents otherwise (Postgres lease checks).
 */

/** SPEC section 4 statuses. */
export type DeliveryStatus = 'pending' | 'retrying' | 'delivering' | 'succeeded' | 'failed' | 'cancelled';

/** Statuses of a delivery that still waits for an attempt. */
export const WAITING_STATUSES: readonly DeliveryStatus[] = ['pending', 'retrying'];

/** One event to store, with the subscriptions it fans out to (already matched by the caller). */
export interface NewEvent {
  id: string;
  type: string;
  /** The event's `data` as compact JSON text, exactly as it will be sent. */
  data: string;
  /** Hash of type and canonical data: decides "same content" for idempotent replays. */
  contentHash: string;
  createdAt: number;
  /**
   * true when the relay made `id` just now (the caller gave none): no stored event can have it, so
   * a backend may skip the idempotency lookup (the unique constraint on the id still holds).
   */
  freshId?: boolean;
  /** The tenant the event belongs to (SPEC 9); absent: none. Its deliveries carry it too. */
  tenant?: string;
  /** A test or example event (SPEC 5): sent with `<prefix>Test: true` and `"test": true`, never replayed. */
  test?: boolean;
  /** One delivery is created per id, status `pending`, due at `createdAt`: the platform subscriptions (and any without a tenant). */
  subscriptionIds: string[];
  /**
   * The tenant's own matching subscriptions. The store reads the tenant's record in the ingest
   * transaction: a disabled tenant gets none of these deliveries (the event and its platform ones
   * are stored); an erasing one fails the request (IngestResult `tenant_erasing`). No record: kept.
   */
  tenantSubscriptionIds?: string[];
}

/** Outcome for one event of an ingest request. */
export interface IngestedEvent {
  id: string;
  /** Number of deliveries the event got when it was first stored. */
  deliveries: number;
  /** false when the id existed already with the same content (an idempotent replay). */
  created: boolean;
}

/**
 * Outcome of one ingest request (a single event or a batch): all of its events were stored
 * (or were identical replays), or nothing was stored because one id exists with other content.
 */
export type IngestResult =
  | { kind: 'ok'; events: IngestedEvent[] }
  | { kind: 'conflict'; id: string }
  /** An event's tenant is being erased (SPEC 9): nothing of the request was stored. */
  | { kind: 'tenant_erasing'; tenant: string };

/** How many due deliveries to claim for one subscription, and until when the lease holds. */
export interface ClaimRequest {
  subscriptionId: string;
  limit: number;
  leaseExpiresAt: number;
  /**
   * `ordering: fifo`: claim only the subscription's head, the delivery with the smallest id (ids
   * sort in ingest order) among those not yet finished (pending, retrying or delivering), and only
   * if it is waiting and due. A head that is delivering, or waiting for a later retry, holds the
   * whole subscription: nothing is claimed. At most one delivery whatever `limit` (if >= 1).
   */
  fifo?: boolean;
  /**
   * The subscription's `rate_limit` (`limit` attempts per `perMs`) and `burst`, the capacity of its
   * token bucket. A store with `capabilities.sharedRateBuckets` (Postgres) also spends attempts
   * from one bucket per subscription in the database, so the limit holds across processes; a
   * single-process store ignores it (the dispatcher's own limiter already holds it).
   */
  rateLimit?: { limit: number; perMs: number; burst: number };
}

/** What one claim leased, and what it learnt of each requested subscription's remaining work. */
export interface ClaimBatch {
  deliveries: ClaimedDelivery[];
  /**
   * Per requested subscription: when its earliest waiting delivery not leased by this claim is due
   * (now or earlier: more is due), null when none is waiting (or, fifo, the head is delivering).
   * Absent when the claim could not tell (a shared rate bucket ran dry first).
   */
  nextDueAt: Map<string, number | null>;
}

/** A subscription with waiting deliveries, and when the earliest is due. */
export interface WaitingSubscription {
  subscriptionId: string;
  nextDueAt: number;
}

/** A delivery leased to one dispatcher, with what it needs to build the request. */
export interface ClaimedDelivery {
  id: string;
  subscriptionId: string;
  /** Attempts already made (finished) before this one; this attempt is number `attempts + 1`. */
  attempts: number;
  event: StoredEventSummary;
}

/** What a delivery needs of its event. */
export interface StoredEventSummary {
  id: string;
  type: string;
  /** JSON text of the event's data. */
  data: string;
  createdAt: number;
  /** The event's tenant; absent for the platform's own events. */
  tenant?: string;
  /** A test or example event (SPEC 5). */
  test?: boolean;
}

/** Everything recorded about one HTTP attempt (shown by the admin API). */
export interface AttemptRecord {
  /** `att_…`: the `<prefix>Delivery` header of this attempt. */
  id: string;
  /** 1 for the first attempt. */
  attempt: number;
  startedAt: number;
  durationMs: number;
  requestUrl: string;
  requestHeaders: Record<string, string>;
  /** HTTP status of the receiver's answer; null when none came (timeout, network error). */
  responseStatus: number | null;
  responseHeaders: Record<string, string> | null;
  /** The receiver's answer, cut at `max_response_body` bytes. */
  responseBody: string | null;
  /** Why the attempt failed, for people: "timeout after 10000 ms", "HTTP 500", … */
  error: string | null;
}

/** What follows a finished attempt. */
export type NextState =
  | { status: 'succeeded' }
  | { status: 'retrying'; nextAttemptAt: number }
  | { status: 'failed' }
  /** The subscription was removed while the attempt ran: recorded, then nothing more. */
  | { status: 'cancelled' };

/** The result of one attempt, written by `complete` only while the lease is still ours. */
export interface AttemptResult {
  deliveryId: string;
  subscriptionId: string;
  leaseOwner: string;
  record: AttemptRecord;
  next: NextState;
  /** Set when the receiver answered 410 Gone: disable the subscription with this reason. */
  disableSubscription?: string;
}

/** One delivery that failed for good, as `hookrelay.delivery.failed` lists it (SPEC 12). */
export interface FailedDeliveryFacts {
  id: string;
  eventId: string;
  eventType: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
}

/**
 * Something the store decided happened, once across every instance (SPEC 12): the guarded state
 * change that decides it and the event it becomes are written in one transaction. Times in ms.
 */
export type OperationalOccurrence =
  | { type: 'hookrelay.subscription.disabled'; subscriptionId: string; reason: string }
  | {
      type: 'hookrelay.subscription.failing';
      subscriptionId: string;
      failureStreak: number;
      lastStatus: number | null;
      lastError: string | null;
    }
  | { type: 'hookrelay.subscription.recovered'; subscriptionId: string; failedForMs: number }
  | { type: 'hookrelay.delivery.failed'; subscriptionId: string; count: number; deliveries: FailedDeliveryFacts[] }
  | { type: 'hookrelay.backlog.delayed'; subscriptionId: string; oldestWaitingAgeMs: number; backlog: number };

/**
 * What a write needs to emit operational events in its own transaction. Without it a write emits
 * none and changes no announcement flag. Deliveries of `hookrelay.*` events never emit (no loops).
 */
export interface OperationalHooks {
  /** `alerts.failing_after`: the failure streak that makes a subscription `failing` (default 10). */
  failingAfter: number;
  /** Least time between two `hookrelay.delivery.failed` of one subscription (ms; 60000). */
  reportWindowMs: number;
  /**
   * The event to store for an occurrence (id, tenant, data, fan-out), or null for none (its
   * subscription is gone). Called inside the transaction, synchronously; it must not throw.
   */
  eventOf(occurrence: OperationalOccurrence): NewEvent | null;
}

/** Persisted run-time state of a subscription (config-declared or not). */
export interface SubscriptionState {
  id: string;
  /** null: follow the config; true/false: set at run time (API, or 410 Gone), survives restarts. */
  enabled: boolean | null;
  disabledReason: string | null;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  /** Failed attempts since the last success. */
  failureStreak: number;
  /**
   * When the current run of failures began: set by the first failed attempt after a success (or
   * ever), cleared by a success and by enabling the subscription again; null when not failing.
   * `delivery.disable_after` is measured from it.
   */
  failingSince: number | null;
}

/** One delivery of an event to a subscription. */
export interface StoredDelivery {
  id: string;
  eventId: string;
  subscriptionId: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
  lastStatusCode: number | null;
  lastError: string | null;
  /** Its event's tenant; absent for the platform's own events. */
  tenant?: string;
}

/** An event as stored, with its delivery count at first ingest. */
export interface StoredEvent extends StoredEventSummary {
  deliveryCount: number;
}

/** One page of a keyset-paginated listing, newest first; `nextCursor` is null on the last page. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Time windows are on `created_at`: `since` inclusive, `until` exclusive (epoch ms). */
export interface EventQuery {
  type?: string | undefined;
  /** Only this tenant's events; null: only those without a tenant. */
  tenant?: string | null | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** 1..500. */
  limit: number;
  /** Opaque, from a previous page's `nextCursor`. */
  cursor?: string | undefined;
}

/** Filters and page of listDeliveries; times as in EventQuery. */
export interface DeliveryQuery {
  status?: DeliveryStatus | undefined;
  /** Only deliveries of this tenant's events; null: only those of events without a tenant. */
  tenant?: string | null | undefined;
  subscriptionId?: string | undefined;
  /**
   * Only deliveries to one of these subscriptions (what a tenant credential owns, SPEC 9); [] finds
   * none. Served by the other filters' index (with `tenant`: deliveries_tenant), then checked per row.
   */
  subscriptionIn?: readonly string[] | undefined;
  eventType?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** A delivery with its event's type (listings filter and show it). */
export interface DeliveryWithEventType extends StoredDelivery {
  eventType: string;
}

/** A subscription created over the admin API: its definition exactly as accepted (config-shaped JSON, secrets included). */
/** What insertTenantSubscription did; `limit` carries the limit that held. */
export type TenantInsertResult = { result: 'ok' } | { result: 'taken' } | { result: 'no_tenant' } | { result: 'limit'; limit: number };

export interface StoredApiSubscription {
  id: string;
  spec: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  /** The tenant it belongs to (fixed at creation); absent for platform subscriptions. */
  tenant?: string;
  /** Set when its secrets are stored encrypted and cannot be decrypted with the configured keys: why (spec is then as stored, unusable). */
  unreadable?: string;
}

/** A page of API subscriptions in id order: at most `limit`, with ids above `after` (absent: from the first). */
export interface ApiSubscriptionPage {
  after?: string | undefined;
  limit: number;
}

/** One page of the subscription change log: ids whose definition or run-time state changed after `afterSeq`. */
export interface SubscriptionChanges {
  /** The newest change seq included (= afterSeq when there is none). */
  seq: number;
  /** Distinct ids changed after `afterSeq`, in no particular order: read each again (absent now = deleted). */
  ids: string[];
  /** true when changes after `afterSeq` were already pruned: the reader must reload every subscription. */
  truncated: boolean;
}

/** How long the subscription change log keeps a row (ms): pruneSubscriptionChanges is called with now minus this. */
export const SUBSCRIPTION_CHANGES_KEPT_MS = 3_600_000;

/** Result of an admin action on one delivery. */
export type DeliveryActionResult =
  | { kind: 'ok'; delivery: StoredDelivery }
  | { kind: 'not_found' }
  /** The delivery's status does not allow the action (e.g. retrying one that succeeded). */
  | { kind: 'conflict'; status: DeliveryStatus };

/** Delivery counts for one subscription id (config, API, or one that no longer exists). */
export interface SubscriptionStats {
  subscriptionId: string;
  /** Every status key present, 0 when none. */
  counts: Record<DeliveryStatus, number>;
  /** Waiting deliveries: pending + retrying. */
  backlog: number;
  /** `created_at` of the oldest waiting delivery, or null when none waits. */
  oldestWaitingCreatedAt: number | null;
}

/** One batch of a retention sweep (see Store.pruneFinished). */
export interface PruneRequest {
  succeededBefore: number;
  failedBefore: number;
  /** Most events looked at in this batch. */
  limit: number;
  /** Opaque, from the previous batch's `next`. */
  after?: string | undefined;
}

/** What one retention batch did. */
export interface PruneBatch {
  /** Events deleted (their deliveries and attempts went with them). */
  deleted: number;
  /** Where the next batch starts; null when the sweep is done. */
  next: string | null;
}

/** Who changed what through the admin API. */
export interface AuditEntry {
  /** `aud_` + ULID. */
  id: string;
  at: number;
  /** The admin token's `name`. */
  actor: string;
  /** e.g. `subscription.create`, `delivery.retry`. */
  action: string;
  /** The id acted on, if any. */
  target: string | null;
  /** Action-specific facts; never secrets. */
  details: Record<string, unknown>;
}

/** A tenant's state: `erasing` once its erasure started (SPEC 9), until its rows are gone. */
export type TenantState = 'active' | 'erasing';

/** What PUT /tenants/{tenant} writes: every field, omitted ones already at their defaults. */
export interface TenantInput {
  id: string;
  name: string | null;
  /** JSON object, or null. */
  metadata: Record<string, unknown> | null;
  enabled: boolean;
  maxSubscriptions: number | null;
  /** As configured, e.g. `100/s`; null: none. */
  ingestRate: string | null;
}

/** A tenant as stored. */
export interface StoredTenant extends TenantInput {
  state: TenantState;
  createdAt: number;
  updatedAt: number;
}

/** putTenant's outcome: `erasing` wrote nothing. */
export type PutTenantResult = 'created' | 'replaced' | 'erasing';

/** Filters and page of listTenants (by id ascending). */
export interface TenantQuery {
  /** Id prefix. */
  q?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Counts shown with a tenant. */
export interface TenantCounts {
  /** Its API subscriptions. */
  subscriptions: number;
  /** Waiting deliveries (pending, retrying) of its events. */
  backlog: number;
  /** Its subscriptions whose failure streak is above 0. */
  failing: number;
}

/** What a tenant token may do on /api/v1 (SPEC 9): read (GET) and/or write (the rest). */
export type TenantTokenScope = 'read' | 'write';

/** A new tenant token as stored: never the secret, only its SHA-256 hex. */
export interface TenantTokenInput {
  /** The `<id>` of `hrt_<id>_<secret>`: found by it on every request. */
  id: string;
  tenant: string;
  name: string;
  scopes: TenantTokenScope[];
  /** SHA-256 hex of the secret. */
  hash: string;
  createdAt: number;
  /** null: never expires. */
  expiresAt: number | null;
}

/** A tenant token as stored. */
export interface StoredTenantToken extends TenantTokenInput {
  /** Last request that used it, to the minute (touchTenantToken); null: never used. */
  lastUsedAt: number | null;
}

/** How often touchTenantToken writes at most per token (ms): once a minute. */
export const TENANT_TOKEN_TOUCH_MS = 60_000;

/**
 * A portal link (SPEC 10) as stored: never its token, only the SHA-256 hex of it. Used once, it
 * becomes the portal session it was exchanged for (same row, same tenant, scopes and expiry).
 */
export interface PortalLinkInput {
  /** Random id of the row: audit entries name it, never a token. */
  id: string;
  tenant: string;
  scopes: TenantTokenScope[];
  /** SHA-256 hex of the link token. */
  linkHash: string;
  createdAt: number;
  /** When the link, and the session made from it, stop working (epoch ms). */
  expiresAt: number;
}

/** A portal session: a link that was exchanged (its session token's SHA-256 hex is `sessionHash`). */
export interface StoredPortalSession {
  id: string;
  tenant: string;
  scopes: TenantTokenScope[];
  sessionHash: string;
  /** When the link was exchanged for this session. */
  openedAt: number;
  expiresAt: number;
}

/** Progress of a tenant's erasure (SPEC 9): rows erased so far. */
export interface TenantErasure {
  tenant: string;
  /** `erasing` until every row of the tenant is gone, then `done`. */
  state: 'erasing' | 'done';
  events: number;
  deliveries: number;
  attempts: number;
  startedAt: number;
  /** When it became `done`; null while erasing. */
  finishedAt: number | null;
}

/** An event type of the catalog made over the admin API (SPEC 11); config and built-in types are not stored. */
export interface StoredEventType {
  name: string;
  /** The definition as accepted (description, schema, example, deprecated, internal), config-shaped JSON. */
  spec: Record<string, unknown>;
  /** The catalog version of the write that made this definition: it changes with every replace. */
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** The stored catalog at one version. */
export interface EventTypeCatalog {
  /** Catalog version read before the rows: rows may be newer, never older. */
  version: number;
  types: StoredEventType[];
}

/** What a backend can do, so callers ask the store instead of the config which backend it is. */
export interface StoreCapabilities {
  /**
   * One process owns the store (SQLite): at start-up no lease can belong to a live process, so
   * every one is rescued (`rescueExpired({all: true})`). false: several instances share it.
   */
  singleOwner: boolean;
  /** `backup(path)` makes a copy (SQLite online backup); false: it throws, back up the database by its own means. */
  backup: boolean;
  /** `ClaimRequest.rateLimit` is spent from buckets in the store, shared by every instance (Postgres). */
  sharedRateBuckets: boolean;
}

/** The storage contract (see the top of this file). */
export interface Store {
  /** What this backend can do. */
  readonly capabilities: StoreCapabilities;
  /**
   * How long a lease outlives its attempt's timeout (ms), when the backend wants its own: several
   * instances (Postgres, `storage.postgres.lease_margin`) wait this long before taking over a dead
   * one's work. Undefined: the dispatcher's default.
   */
  readonly leaseMarginMs?: number;
  /**
   * true for errors a client should retry later (storage busy, full, unreachable, a dropped
   * connection): the HTTP edge answers 503 with Retry-After instead of 500.
   */
  isUnavailable(err: unknown): boolean;

  /** Apply pending migrations; throws (and the boot stops) if one fails. */
  migrate(): Promise<void>;
  /** true when storage answers and is migrated to the latest version. */
  ready(): Promise<boolean>;
  close(): Promise<void>;

  /**
   * Store several ingest requests in one transaction (group commit). Each request is all-or-nothing
   * on its own: a conflicting id rejects that request only. Resolves after the commit is durable.
   */
  ingest(requests: NewEvent[][]): Promise<IngestResult[]>;

  /**
   * Lease up to `limit` due (waiting, `next_attempt_at <= now`) deliveries per subscription, oldest
   * due first; with `fifo`, only the subscription's head and only when it is due (see ClaimRequest).
   */
  claim(requests: ClaimRequest[], owner: string, now: number): Promise<ClaimedDelivery[]>;
  /**
   * claim(), telling also when each requested subscription's next waiting delivery is due, so the
   * dispatcher knows without asking again. Deliveries of a tenant being erased are never leased.
   */
  claimDue(requests: ClaimRequest[], owner: string, now: number): Promise<ClaimBatch>;
  /**
   * Every subscription with waiting deliveries (pending or retrying), with its earliest due time: one
   * index probe per such subscription, however many subscriptions exist. The dispatcher's safety net
   * and its only view of work other instances made.
   */
  waitingSubscriptions(): Promise<WaitingSubscription[]>;
  /**
   * Record finished attempts; per result, false when the lease was lost (nothing written for it).
   * Subscription health: a success resets `failureStreak` and clears `failingSince`; a failure
   * (retrying or failed) counts in `failureStreak` and sets `failingSince` if it is null; a
   * cancelled result touches neither.
   * With `ops`, in the same transaction (SPEC 12): a streak that reaches `failingAfter` by a failure
   * of an ordinary (not `hookrelay.*`) delivery takes `failing_announced` and emits `failing`; a
   * success that finds it taken clears it and emits `recovered`; ordinary deliveries that failed
   * for good are queued for `hookrelay.delivery.failed`, reported at once unless the subscription's
   * last report is younger than `reportWindowMs`; a 410 Gone on an ordinary delivery that disables
   * the subscription emits `disabled`.
   */
  complete(results: AttemptResult[], now: number, ops?: OperationalHooks): Promise<boolean[]>;
  /** Give leased deliveries back without spending an attempt (shutdown): due now, status as before. */
  release(deliveryIds: string[], owner: string, now: number): Promise<number>;
  /**
   * Give back deliveries whose lease expired by `now` (a crashed process), due at `now`; returns how
   * many. `all` gives back every leased delivery whatever its expiry: only for a store that one
   * process owns (SQLite), at start-up, when no lease can belong to a live process.
   */
  rescueExpired(now: number, opts?: { all?: boolean }): Promise<number>;
  /**
   * Earliest `next_attempt_at` of waiting deliveries of these subscriptions, or null. For the ids
   * also in `fifoSubscriptionIds` only the head counts (see ClaimRequest.fifo): its due time if it
   * is waiting, nothing if it is delivering, so a held subscription never looks due.
   */
  nextDueAt(subscriptionIds: string[], fifoSubscriptionIds?: string[]): Promise<number | null>;

  /** Run-time states of these ids (those that have a row), or of every subscription when `ids` is undefined. */
  getSubscriptionStates(ids?: string[]): Promise<SubscriptionState[]>;
  /** States of the subscriptions failing since `failingSince` or earlier (auto-disable reads these, not every state). */
  failingSubscriptionStates(failingSince: number): Promise<SubscriptionState[]>;
  /**
   * Set the run-time enabled flag (null: follow the config again). Enabling (true or null) also
   * clears `failingSince`, so a subscription turned back on gets the full `disable_after` again.
   * Appends a subscription change (see subscriptionChangesSince). With `ops`, disabling one that
   * was not disabled emits `hookrelay.subscription.disabled` with `reason`, decided by a guarded
   * update (once across instances).
   */
  setSubscriptionEnabled(id: string, enabled: boolean | null, reason: string | null, now: number, ops?: OperationalHooks): Promise<void>;
  /**
   * Reports queued failed deliveries (see complete) of every subscription whose last report is at
   * least `ops.reportWindowMs` old: one `hookrelay.delivery.failed` each, with the count and the
   * first ten. Decided per subscription by a guarded update of its report time; returns how many.
   */
  reportFailedDeliveries(now: number, ops: OperationalHooks): Promise<number>;
  /**
   * Emits `hookrelay.backlog.delayed` for each subscription whose oldest waiting ordinary delivery
   * was created at least `ageMs` before `now`, unless announced already (a guarded flag), and clears
   * the flag of those that have none that old any more. Costs a scan of the waiting deliveries.
   * Returns how many it emitted.
   */
  checkBacklog(now: number, ageMs: number, ops: OperationalHooks): Promise<number>;

  getEvent(id: string): Promise<StoredEvent | null>;
  listDeliveriesOfEvent(eventId: string): Promise<StoredDelivery[]>;
  getDelivery(id: string): Promise<StoredDelivery | null>;
  listAttempts(deliveryId: string): Promise<AttemptRecord[]>;
  countDeliveriesByStatus(): Promise<Record<DeliveryStatus, number>>;

  // --- admin API -----------------------------------------------------------------------------
  /** Events newest first (`created_at` then insertion order), keyset-paginated. */
  listEvents(query: EventQuery): Promise<Page<StoredEvent>>;
  /** Deliveries newest first (by id: ULIDs sort by creation), keyset-paginated. */
  listDeliveries(query: DeliveryQuery): Promise<Page<DeliveryWithEventType>>;

  /** API subscriptions by id; with `page`, at most `limit` of them after `after` (the live set loads 100,000 a page at a time). */
  listApiSubscriptions(page?: ApiSubscriptionPage): Promise<StoredApiSubscription[]>;
  /** The API subscription with this id, or null. */
  getApiSubscription(id: string): Promise<StoredApiSubscription | null>;
  /** false when the id is taken by another API subscription (nothing written). `tenant`: its owner, fixed from now on. */
  insertApiSubscription(id: string, spec: Record<string, unknown>, now: number, tenant?: string): Promise<boolean>;
  /**
   * Inserts a tenant's API subscription unless the tenant already has its limit of them: the
   * record's max_subscriptions, else `defaultMax` (tenants.max_subscriptions). Counted and
   * inserted under one lock (SQLite: the write transaction; Postgres: the tenant row, FOR UPDATE),
   * so two instances racing at the limit cannot both pass. 'taken': the id is used; 'no_tenant':
   * the tenant has no record (or it is being erased); nothing is written then.
   */
  insertTenantSubscription(
    id: string,
    spec: Record<string, unknown>,
    now: number,
    tenant: string,
    defaultMax: number,
  ): Promise<TenantInsertResult>;
  /**
   * false when there is no such API subscription, or with `ifUpdatedAt` when its `updatedAt` is no
   * longer that (something wrote it since it was read).
   */
  updateApiSubscription(id: string, spec: Record<string, unknown>, now: number, ifUpdatedAt?: number): Promise<boolean>;
  /**
   * Removes an API subscription and its run-time state, and cancels its waiting deliveries (their
   * history stays); false when there is none.
   */
  deleteApiSubscription(id: string, now: number): Promise<boolean>;

  /** New `pending` deliveries of an existing event (replay); returns their ids, in order; [] if the event is unknown. */
  addDeliveries(eventId: string, subscriptionIds: string[], now: number): Promise<string[]>;
  /** Due now again: allowed from pending, retrying, failed, cancelled; conflict when delivering or succeeded. */
  retryDelivery(id: string, now: number): Promise<DeliveryActionResult>;
  /** Stop trying: allowed from pending and retrying (and idempotent on cancelled); conflict otherwise. */
  cancelDelivery(id: string, now: number): Promise<DeliveryActionResult>;
  /** Every `failed` delivery of the subscription created in [since, until) becomes due now; returns how many. */
  recoverDeliveries(subscriptionId: string, since: number, until: number, now: number): Promise<number>;

  /**
   * Counts per subscription id that has any delivery; with `subscriptionIds`, of those alone, at the
   * cost of their own deliveries (a page of a listing, one tenant's, the platform's for metrics).
   */
  deliveryStats(subscriptionIds?: string[]): Promise<SubscriptionStats[]>;
  /** Waiting deliveries (and the oldest one's creation) of every subscription but these: metrics' tenants series. */
  waitingTotals(exceptSubscriptionIds: string[]): Promise<{ backlog: number; oldestWaitingCreatedAt: number | null }>;

  appendAudit(entry: AuditEntry): Promise<void>;
  /** Audit entries newest first. */
  listAudit(query: { limit: number; cursor?: string | undefined }): Promise<Page<AuditEntry>>;

  /**
   * Retention: one short transaction that looks at up to `limit` events, oldest first, after
   * `after` (a cursor from the previous call; absent: from the oldest), and deletes those that are
   * finished and old enough, with their deliveries and attempts. An event is finished when none of
   * its deliveries is pending, retrying or delivering; it goes when its `created_at` is before
   * `succeededBefore` if every delivery succeeded (or it has none), and before `failedBefore` if
   * any delivery failed or was cancelled. `next` is null once every event older than both limits
   * has been looked at; the caller calls again with `next` until then, so no single write holds
   * the database long and events that must stay (still waiting, say) are passed over once per
   * sweep, not once per batch. A backend may also hand freed space back to the file system when
   * a sweep ends (SQLite: incremental vacuum).
   */
  pruneFinished(opts: PruneRequest): Promise<PruneBatch>;

  // --- tenants (SPEC 9) -----------------------------------------------------------------------
  /**
   * Creates or replaces a tenant record (replace keeps created_at; every other field is the
   * input's). `erasing` when the tenant is being erased: nothing written.
   */
  putTenant(input: TenantInput, now: number): Promise<PutTenantResult>;
  /** The tenant record, or null. */
  getTenant(id: string): Promise<StoredTenant | null>;
  /** Tenants by id ascending, keyset-paginated; throws InvalidCursorError for a foreign cursor. */
  listTenants(query: TenantQuery): Promise<Page<StoredTenant>>;
  /**
   * Counts of these tenant ids (record or not), each present in the answer; the cost follows the
   * ids asked and their rows (indexes by tenant), never the number of tenants.
   */
  tenantCounts(ids: string[]): Promise<Map<string, TenantCounts>>;

  /** Stores a new tenant token (its id is random and new: a clash throws). */
  createTenantToken(token: TenantTokenInput): Promise<void>;
  /** The tenant's tokens, by id (index by tenant). */
  listTenantTokens(tenant: string): Promise<StoredTenantToken[]>;
  /** Deletes the tenant's token `id`; false when the tenant has no such token. */
  revokeTenantToken(tenant: string, id: string): Promise<boolean>;
  /** The token with this id (one primary-key read), or null. */
  findTenantToken(id: string): Promise<StoredTenantToken | null>;
  /**
   * Sets `last_used_at` to `now` only when it is null or at least TENANT_TOKEN_TOUCH_MS older
   * (checked in the UPDATE's WHERE), so a busy token costs one write a minute; true when it wrote.
   */
  touchTenantToken(id: string, now: number): Promise<boolean>;
  /** Stores a new portal link (SPEC 10); the tenant's links and sessions expired before `createdAt` are deleted with it. */
  createPortalLink(link: PortalLinkInput): Promise<void>;
  /**
   * Uses a portal link once: in one conditional UPDATE (its row count decides, so two instances
   * racing for one link never both win), the unused, unexpired link whose hash is `linkHash`
   * becomes a session with `sessionHash`. null when no such link (unknown, used, expired).
   */
  openPortalSession(linkHash: string, sessionHash: string, now: number): Promise<StoredPortalSession | null>;
  /** The session whose token hashes to `sessionHash` (one indexed read), expired or not; null when none. */
  findPortalSession(sessionHash: string): Promise<StoredPortalSession | null>;
  /** Ends every portal session of the tenant and forgets its unused links; returns how many rows went. */
  endPortalSessions(tenant: string): Promise<number>;
  /**
   * Starts erasing a tenant (SPEC 9) in one transaction of its own: its record (created if absent)
   * becomes `erasing`, so ingest and putTenant refuse it from the commit on, and its erasure row
   * `erasing` (counts kept if it was erasing already, from 0 if an earlier erasure was done).
   * Nothing is deleted here: eraseTenantBatch does that.
   */
  startTenantErasure(tenant: string, now: number): Promise<TenantErasure>;
  /**
   * One short write transaction of an erasure: the tenant's tokens and portal links and sessions
   * (deleted by every batch, so the first one ends them), then up to `limit` deliveries to one of the tenant's API
   * subscriptions (with their attempts; the subscription itself, its run-time state and the details
   * of audit entries about it go with its last ones, and a subscription change is logged so every
   * live set drops it), or, once it has no subscriptions, up to `limit` of its events with their
   * deliveries (to any subscription) and attempts. The batch that finds nothing left removes the
   * tenant record, blanks the details of audit entries targeting the tenant, and marks the erasure
   * `done` (SQLite then truncates its WAL). Returns the progress; null when no erasure of this
   * tenant is under way or done.
   */
  eraseTenantBatch(tenant: string, limit: number, now: number): Promise<TenantErasure | null>;
  /** The erasure of this tenant (under way or done), or null if it was never erased. */
  getTenantErasure(tenant: string): Promise<TenantErasure | null>;
  /** Tenants whose erasure is under way (at start, to resume them; and a poll, for other instances' DELETEs). */
  erasingTenants(): Promise<string[]>;

  // --- subscription change log ---------------------------------------------------------------
  // Every write that changes a subscription's definition (insert, update, delete of an API
  // subscription) or its run-time enabled state (setSubscriptionEnabled, a `complete` result with
  // `disableSubscription`) appends one row for its id in the same transaction. Seqs grow in commit
  // order, so a reader that saw seq N has seen every change up to N once it read changes after N.
  // An in-memory live set of subscriptions is derived from this log, never kept in step by hand.

  /** The newest change seq (0 when none). A live set loaded after reading it is at least that fresh. */
  latestSubscriptionChange(): Promise<number>;
  /**
   * Changes after `afterSeq`. `truncated` when rows after it were pruned already (afterSeq below
   * the oldest kept seq minus 1), or when afterSeq is ahead of the log (the store was replaced).
   */
  subscriptionChangesSince(afterSeq: number): Promise<SubscriptionChanges>;
  /**
   * Retention of the change log: deletes rows changed before `before` (epoch ms), always keeping
   * the newest; returns how many went. The retention sweep calls it with now minus
   * SUBSCRIPTION_CHANGES_KEPT_MS.
   */
  pruneSubscriptionChanges(before: number): Promise<number>;
  /**
   * Optional (Postgres): calls `listener` soon after another instance (or this one) committed a
   * subscription change, and after the listening connection came back from a failure (changes may
   * have been missed meanwhile). Returns unsubscribe. Reading the log stays the safety net.
   */
  onSubscriptionChange?(listener: () => void): () => void;

  // --- event type catalog (SPEC 11) -----------------------------------------------------------
  // Every put or delete raises one catalog version in its own transaction (and, on Postgres,
  // NOTIFYs). The catalog is small: a reader polls the version and reads it whole when it moved.

  /** The catalog version: 0 before any write, raised by every putEventType and deleteEventType. */
  eventTypesVersion(): Promise<number>;
  /** Every stored event type, by name, with the version read first. */
  listEventTypes(): Promise<EventTypeCatalog>;
  /** Creates or replaces an event type; the new definition gets the raised catalog version. */
  putEventType(name: string, spec: Record<string, unknown>, now: number): Promise<{ outcome: 'created' | 'replaced'; version: number }>;
  /** Removes an event type; false (nothing raised) when there is none. */
  deleteEventType(name: string, now: number): Promise<boolean>;
  /**
   * Optional (Postgres): calls `listener` soon after any instance committed a catalog change, and
   * after the listening connection came back from a failure. Returns unsubscribe. The poll of
   * eventTypesVersion stays the safety net.
   */
  onEventTypeChange?(listener: () => void): () => void;

  /**
   * Optional: calls `listener` when another process (or this one) committed work that may be due
   * now: new deliveries, a retry or a recovery. Postgres: LISTEN/NOTIFY, so an ingest on one
   * instance wakes the dispatchers of all. `subscriptionIds` names the subscriptions that got the
   * work when the notifier knew them; absent, any may have. Returns the unsubscribe function.
   * Polling stays the safety net, so a missed call only delays.
   */
  onWork?(listener: (subscriptionIds?: string[]) => void): () => void;

  /**
   * A consistent copy of the whole store at `path` while it runs (SQLite online backup), mode 0600;
   * throws unless `capabilities.backup`. The directory must exist. An existing `path` (a symlink
   * included, which is never followed) fails with code EEXIST unless `overwrite`, which replaces it.
   */
  backup(path: string, opts?: { overwrite?: boolean }): Promise<void>;
}
