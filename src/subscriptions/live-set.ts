import type { Config } from '../config/schema';
import { ChangeFollower, type FollowPolicy, coalescing } from '../lib/change-follower';
import type { Logger } from '../lib/logger';
import type { StoredApiSubscription, Store, SubscriptionState } from '../store/types';
import type { SubscriptionDefinition } from './definition';
import { compileEventPatterns } from './event-pattern';
import { declaredSubscription } from './sources';
import {
  compileTarget,
  type DeclaredSubscription,
  type DeliveryDefaults,
  deliveryDefaults,
  type SubscriptionSource,
  type Target,
} from './target';

/** Subscriptions an event type can fan out to: those without a filter, and those whose filter must see the event (ids). */
interface TypeMatch {
  always: string[];
  filtered: string[];
}

/** Ids of the enabled subscriptions an event fans out to: the platform's (no tenant), and its tenant's own. */
export interface Fanout {
  platform: string[];
  tenant: string[];
}

export interface LiveSetDeps {
  store: Store;
  logger: Logger;
}

/** How often the change log is read when nothing announced a change (the safety net under NOTIFY). */
export const LIVE_SET_POLL_MS = 1000;

/** Following the store: the poll, and what is logged once per outage (when reading stops, and when it works again). */
const LIVE_SET_FOLLOW: FollowPolicy = {
  pollMs: LIVE_SET_POLL_MS,
  failing: 'cannot read subscription changes; the subscriptions in force stay as they are',
  recovered: 'subscription changes are read again',
};

/**
 * What the live set keeps of every subscription: enough to route an event, list and count, and to
 * group its work by tenant. The whole Target (signer, filter, limits) is compiled from it on demand.
 */
export interface Route {
  readonly id: string;
  readonly source: SubscriptionSource;
  /** Its tenant; null: a platform subscription. */
  readonly tenant: string | null;
  /** Effective: the declaration, or the persisted run-time override. */
  readonly enabled: boolean;
  /** Its `events` patterns, compiled (one predicate shared by every subscription with the same list). */
  readonly matches: (type: string) => boolean;
  /** Whether it has a `filter` (its compiled Target then decides each event). */
  readonly hasFilter: boolean;
}

/** A route and what its Target is compiled from: the config's declaration, or the stored row's spec as JSON text. */
interface Entry extends Route {
  readonly declared: DeclaredSubscription | undefined;
  readonly spec: string | undefined;
  readonly createdAt: number | undefined;
  readonly updatedAt: number | undefined;
  readonly disabledReason: string | null;
}

/** Type matches cached, all tenants together; past it the cache starts again (a miss costs one tenant's few routes). */
const MAX_CACHED_MATCHES = 20_000;

/** API subscriptions read per query when the whole set is loaded. */
const LOAD_PAGE = 2000;

/**
 * Compiled Targets kept at once, in each of two generations: those of the subscriptions with work
 * stay (each get() keeps its entry young), 100,000 idle ones are never compiled.
 */
const COMPILED_PER_GENERATION = 2048;

/**
 * The subscriptions in force, derived from the store and the config: ingest asks it which
 * subscriptions an event fans out to (cached per type), the dispatcher which ones to claim for,
 * the admin API what to show. It is never changed by hand: every change is written to the store
 * first (with a row in its change log), then `refresh()` applies the changed ids. The instance
 * that made a change refreshes at once; other instances sharing the database learn of it through
 * `store.onSubscriptionChange` (Postgres NOTIFY) or, failing that, the poll of the change log.
 *
 * It holds a light Route per subscription (a few hundred bytes: its definition as JSON text, its tenant,
 * whether it is enabled, its shared pattern predicate); the Target a delivery or a view needs is
 * compiled on first use and kept in a bounded cache, so memory does not grow with idle
 * subscriptions by what a signer and a compiled definition weigh.
 */
export class LiveSubscriptions {
  private entries = new Map<string, Entry>();
  /**
   * Every route by its tenant (null: the platform's), kept in step with `entries` at each change:
   * a tenant's subscriptions are found without looking at anyone else's (listings, fan-out).
   */
  private byTenant = new Map<string | null, Entry[]>();
  /** Per tenant (null: platform), the subscriptions each event type fans out to; a change drops its tenant's. */
  private matchCache = new Map<string | null, Map<string, TypeMatch>>();
  /** Entries in matchCache, all tenants together (bounded). */
  private cachedMatches = 0;
  /** Compiled targets, young and old generation (see COMPILED_PER_GENERATION). */
  private compiled = new Map<string, Target>();
  private compiledOld = new Map<string, Target>();
  /** Pattern predicates by their list, shared between routes. */
  private patterns = new Map<string, (type: string) => boolean>();
  /** The enabled routes, built on demand and dropped at every change (listings; not used per event). */
  private enabledCache: Route[] | undefined;
  /** Newest change-log seq applied. */
  private seen = 0;
  /** A failed read leaves the subscriptions in force as they are. */
  private readonly follower: ChangeFollower;
  private readonly listeners = new Set<(ids?: string[]) => void>();
  private defaults: DeliveryDefaults;

  /** An empty set until reloadAll() reads the store (at start, once storage is reachable). */
  constructor(
    private readonly deps: LiveSetDeps,
    private config: Config,
  ) {
    this.defaults = deliveryDefaults(config);
    this.follower = new ChangeFollower(LIVE_SET_FOLLOW, deps.logger, () => this.refresh());
  }

  /** Reads every subscription of `config` and the store. */
  static async load(deps: LiveSetDeps, config: Config): Promise<LiveSubscriptions> {
    const live = new LiveSubscriptions(deps, config);
    await live.reloadAll(config);
    return live;
  }

  /** Re-reads everything against `config` (start-up, config reload, a change log that was pruned past us). */
  async reloadAll(config: Config = this.config): Promise<void> {
    const { store, logger } = this.deps;
    // The seq first: a change committed while the rows are read is applied again by the next refresh.
    const seq = await store.latestSubscriptionChange();
    const stateOf = new Map((await store.getSubscriptionStates()).map((s) => [s.id, s]));
    // Built aside and swapped in at the end: fan-out never sees a set half read.
    const loaded = new LiveSubscriptions(this.deps, config);
    for (const def of config.subscriptions) loaded.put(loaded.configEntry(def, stateOf.get(def.id)));
    // A page at a time: what each row costs while it is read is garbage before the next page,
    // never 100,000 parsed rows at once. A change committed meanwhile is after `seq`, so applied again.
    for (let after: string | undefined; ; ) {
      const page = await store.listApiSubscriptions({ after, limit: LOAD_PAGE });
      for (const row of page) {
        if (loaded.entries.has(row.id)) {
          logger.warn({ subscription: row.id }, 'an API subscription has the id of a config subscription; the config one wins');
          continue;
        }
        const entry = loaded.storedEntry(row, stateOf.get(row.id));
        if (entry) loaded.put(entry);
      }
      if (page.length < LOAD_PAGE) break;
      after = page.at(-1)!.id;
    }
    this.config = config;
    this.defaults = loaded.defaults;
    this.entries = loaded.entries;
    this.byTenant = loaded.byTenant;
    this.patterns = loaded.patterns;
    this.forgetCompiled();
    this.matchCache.clear();
    this.cachedMatches = 0;
    // From `seq` on again: a change applied while the pages were read may predate the page that holds it.
    this.seen = seq;
    this.changed();
  }

  /**
   * Applies every change logged since the last refresh. Calls while one runs share the next run, so
   * a caller that wrote a change and then awaits this sees it in force.
   */
  readonly refresh = coalescing(() => this.applyChanges());

  private async applyChanges(): Promise<void> {
    const { store } = this.deps;
    const changes = await store.subscriptionChangesSince(this.seen);
    if (changes.truncated) return this.reloadAll();
    if (changes.ids.length === 0) return;
    const [rows, states] = await Promise.all([
      Promise.all(changes.ids.map((id) => store.getApiSubscription(id))),
      store.getSubscriptionStates(changes.ids),
    ]);
    const stateOf = new Map(states.map((s) => [s.id, s]));
    changes.ids.forEach((id, i) => {
      this.apply(id, rows[i] ?? null, stateOf.get(id));
    });
    this.seen = Math.max(this.seen, changes.seq);
    this.changed(changes.ids);
  }

  private apply(id: string, row: StoredApiSubscription | null, state: SubscriptionState | undefined): void {
    const inConfig = this.config.subscriptions.find((s) => s.id === id);
    const entry = inConfig ? this.configEntry(inConfig, state) : row && this.storedEntry(row, state);
    this.remove(id);
    if (entry) this.put(entry);
  }

  /** The route of a config subscription (already validated with the config). */
  private configEntry(def: SubscriptionDefinition, state: SubscriptionState | undefined): Entry {
    return this.entry({ def, source: 'config' }, undefined, def, state);
  }

  /**
   * The route of a stored API subscription, or null when it must not be in force (see
   * declaredSubscription). The definition is validated here, once; its Target is compiled later,
   * from the spec kept as text.
   */
  private storedEntry(row: StoredApiSubscription, state: SubscriptionState | undefined): Entry | null {
    const declared = declaredSubscription(this.config, row, this.deps.logger);
    if (!declared) return null;
    return this.entry(undefined, { row, declared }, declared.def, state);
  }

  private entry(
    declared: DeclaredSubscription | undefined,
    stored: { row: StoredApiSubscription; declared: DeclaredSubscription } | undefined,
    def: SubscriptionDefinition,
    state: SubscriptionState | undefined,
  ): Entry {
    const enabled = state?.enabled ?? def.enabled;
    return {
      id: def.id,
      source: declared?.source ?? 'api',
      tenant: stored?.row.tenant ?? null,
      enabled,
      matches: this.patternsOf(def.events),
      hasFilter: def.filter !== undefined,
      declared,
      // The validated definition as JSON text (every value in it is JSON: durations are ms, dates
      // epoch ms): what the Target is compiled from again, without validating it twice.
      spec: stored && JSON.stringify(stored.declared.def),
      createdAt: stored?.row.createdAt,
      updatedAt: stored?.row.updatedAt,
      disabledReason: enabled ? null : (state?.disabledReason ?? null),
    };
  }

  private patternsOf(events: readonly string[]): (type: string) => boolean {
    const key = events.join('\n');
    let matches = this.patterns.get(key);
    if (matches === undefined) this.patterns.set(key, (matches = compileEventPatterns(events)));
    return matches;
  }

  private put(entry: Entry): void {
    this.entries.set(entry.id, entry);
    // An array per tenant: a tenant holds a handful (max_subscriptions), and 100,000 Maps would cost more.
    const group = this.byTenant.get(entry.tenant);
    if (group === undefined) this.byTenant.set(entry.tenant, [entry]);
    else group.push(entry);
    this.forgetMatches(entry.tenant);
  }

  private remove(id: string): void {
    const old = this.entries.get(id);
    this.compiled.delete(id);
    this.compiledOld.delete(id);
    if (old === undefined) return;
    this.entries.delete(id);
    const rest = (this.byTenant.get(old.tenant) ?? []).filter((t) => t.id !== id);
    if (rest.length === 0) this.byTenant.delete(old.tenant);
    else this.byTenant.set(old.tenant, rest);
    this.forgetMatches(old.tenant);
  }

  private forgetMatches(tenant: string | null): void {
    const cached = this.matchCache.get(tenant);
    if (cached === undefined) return;
    this.cachedMatches -= cached.size;
    this.matchCache.delete(tenant);
  }

  private forgetCompiled(): void {
    this.compiled = new Map();
    this.compiledOld = new Map();
  }

  /** Keeps the set in step with changes made by other instances: their announcements and a poll. */
  start(): void {
    this.follower.start((onChange) => this.deps.store.onSubscriptionChange?.(onChange));
  }

  stop(): void {
    this.follower.stop();
  }

  /**
   * Called after every change applied, with the ids that changed (none: everything was re-read);
   * the dispatcher looks at those again, as one may have been enabled.
   */
  onChange(listener: (ids?: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The subscription in force with this id, compiled (kept while it is used; see COMPILED_PER_GENERATION). */
  get(id: string): Target | undefined {
    const young = this.compiled.get(id);
    if (young !== undefined) return young;
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    let target = this.compiledOld.get(id);
    if (target === undefined) {
      const declared = entry.declared ?? this.declaredAgain(entry);
      target = compileTarget(declared, this.defaults, { enabled: entry.enabled, disabledReason: entry.disabledReason });
    }
    if (this.compiled.size >= COMPILED_PER_GENERATION) {
      this.compiledOld = this.compiled;
      this.compiled = new Map();
    }
    this.compiled.set(id, target);
    return target;
  }

  /** A stored entry's declaration, from the definition kept as text (validated when the entry was made). */
  private declaredAgain(entry: Entry): DeclaredSubscription {
    return {
      def: JSON.parse(entry.spec!) as SubscriptionDefinition,
      source: 'api',
      createdAt: entry.createdAt,
      updatedAt: entry.updatedAt,
      ...(entry.tenant !== null && { tenant: entry.tenant }),
    };
  }

  /** The route of a subscription in force (tenant, enabled, patterns), without compiling it. */
  route(id: string): Route | undefined {
    return this.entries.get(id);
  }

  /** Whether the config file declares `id` (such subscriptions are read-only over the API). */
  declaredInConfig(id: string): boolean {
    return this.config.subscriptions.some((s) => s.id === id);
  }

  /** Every route, in no particular order. */
  all(): Route[] {
    return [...this.entries.values()];
  }

  /** How many subscriptions are in force. */
  get size(): number {
    return this.entries.size;
  }

  /** The enabled routes; a shared array, not to be modified. */
  enabled(): readonly Route[] {
    return (this.enabledCache ??= this.all().filter((t) => t.enabled));
  }

  /** The routes of one tenant (null: the platform's own), enabled or not: a copy, costing that tenant's count. */
  ofTenant(tenant: string | null): Route[] {
    return [...(this.byTenant.get(tenant) ?? [])];
  }

  /** `delivery.disable_after` when any subscription is enabled (every one has the same), else Infinity. */
  shortestDisableAfter(): number {
    return this.enabled().length > 0 ? this.defaults.disableAfterMs : Number.POSITIVE_INFINITY;
  }

  /** Drops what was derived from the whole set of targets and tells the listeners. */
  private changed(ids?: string[]): void {
    this.enabledCache = undefined;
    for (const listener of this.listeners) listener(ids);
  }

  /**
   * Ids of the enabled subscriptions an event fans out to (SPEC 9): the platform's own, and, for an
   * event of a tenant, that tenant's. `events` patterns match its type (cached per tenant and type,
   * found through the index by tenant: the cost follows that tenant's subscriptions, never all of
   * them) and, for subscriptions with a `filter`, the filter accepts its envelope. `envelope` is
   * only called when some matching subscription has a filter.
   */
  matching(type: string, envelope: () => unknown, tenant?: string): Fanout {
    let value: unknown;
    let built = false;
    const seen = () => {
      if (!built) [value, built] = [envelope(), true];
      return value;
    };
    return {
      platform: this.pick(this.typeMatch(null, type), seen),
      tenant: tenant === undefined ? [] : this.pick(this.typeMatch(tenant, type), seen),
    };
  }

  private typeMatch(tenant: string | null, type: string): TypeMatch {
    let byType = this.matchCache.get(tenant);
    let match = byType?.get(type);
    if (!match) {
      const candidates = (this.byTenant.get(tenant) ?? []).filter((t) => t.enabled && t.matches(type));
      match = {
        always: candidates.filter((t) => !t.hasFilter).map((t) => t.id),
        filtered: candidates.filter((t) => t.hasFilter).map((t) => t.id),
      };
      // Event types (and tenants sending) are bounded in practice; a cap keeps a flood of random ones from growing memory.
      if (this.cachedMatches > MAX_CACHED_MATCHES) {
        this.matchCache.clear();
        this.cachedMatches = 0;
        byType = undefined;
      }
      if (byType === undefined) this.matchCache.set(tenant, (byType = new Map()));
      byType.set(type, match);
      this.cachedMatches++;
    }
    return match;
  }

  private pick(match: TypeMatch, envelope: () => unknown): string[] {
    if (match.filtered.length === 0) return match.always;
    const value = envelope();
    return [...match.always, ...match.filtered.filter((id) => this.get(id)?.filter?.(value) === true)];
  }
}
