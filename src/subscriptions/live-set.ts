import type { Config } from '../config/schema';
import type { Logger } from '../lib/logger';
import type { StoredApiSubscription, Store, SubscriptionState } from '../store/types';
import { type DeclaredSubscription, deliveryDefaults, compileTarget, type Target } from './target';
import { declaredSubscription } from './sources';

/** Subscriptions an event type can fan out to: those without a filter, and those whose filter must see the event. */
interface TypeMatch {
  always: string[];
  filtered: Target[];
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

/**
 * The subscriptions in force, derived from the store and the config: ingest asks it which
 * subscriptions an event fans out to (cached per type), the dispatcher which ones to claim for,
 * the admin API what to show. It is never changed by hand: every change is written to the store
 * first (with a row in its change log), then `refresh()` applies the changed ids. The instance
 * that made a change refreshes at once; other instances sharing the database learn of it through
 * `store.onSubscriptionChange` (Postgres NOTIFY) or, failing that, the poll of the change log.
 */
export class LiveSubscriptions {
  private targets = new Map<string, Target>();
  /**
   * Every target by its tenant (null: the platform's), kept in step with `targets` at each change:
   * a tenant's subscriptions are found without looking at anyone else's (listings, fan-out).
   */
  private byTenant = new Map<string | null, Target[]>();
  /** Per tenant (null: platform), the subscriptions each event type fans out to; a change drops its tenant's. */
  private matchCache = new Map<string | null, Map<string, TypeMatch>>();
  /** Entries in matchCache, all tenants together (bounded). */
  private cachedMatches = 0;
  /** The enabled targets, built on demand and dropped at every change (listings; not used per event). */
  private enabledCache: Target[] | undefined;
  /** Newest change-log seq applied. */
  private seen = 0;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => void) | undefined;
  private failing = false;
  private readonly listeners = new Set<(ids?: string[]) => void>();

  /** An empty set until reloadAll() reads the store (at start, once storage is reachable). */
  constructor(
    private readonly deps: LiveSetDeps,
    private config: Config,
  ) {}

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
    const [stored, states] = await Promise.all([store.listApiSubscriptions(), store.getSubscriptionStates()]);
    const stateOf = new Map(states.map((s) => [s.id, s]));
    const declared = new Map<string, DeclaredSubscription>();
    for (const def of config.subscriptions) declared.set(def.id, { def, source: 'config' });
    for (const row of stored) {
      if (declared.has(row.id)) {
        logger.warn({ subscription: row.id }, 'an API subscription has the id of a config subscription; the config one wins');
        continue;
      }
      const api = declaredSubscription(config, row, logger);
      if (api) declared.set(row.id, api);
    }
    const defaults = deliveryDefaults(config);
    this.targets = new Map();
    this.byTenant = new Map();
    this.matchCache.clear();
    this.cachedMatches = 0;
    for (const [id, d] of declared) this.put(id, compileTarget(d, defaults, stateOf.get(id)));
    this.config = config;
    this.seen = Math.max(this.seen, seq);
    this.changed();
  }

  /**
   * Applies every change logged since the last refresh. Calls while one runs share the next run, so
   * a caller that wrote a change and then awaits this sees it in force.
   */
  refresh(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) {
      this.running = this.applyChanges().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.refresh();
      });
    return this.queued;
  }

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
    const declared: DeclaredSubscription | null = inConfig
      ? { def: inConfig, source: 'config' }
      : row && declaredSubscription(this.config, row, this.deps.logger);
    this.remove(id);
    if (declared) this.put(id, compileTarget(declared, deliveryDefaults(this.config), state));
  }

  private put(id: string, target: Target): void {
    this.targets.set(id, target);
    // An array per tenant: a tenant holds a handful (max_subscriptions), and 100,000 Maps would cost more.
    const group = this.byTenant.get(target.tenant);
    if (group === undefined) this.byTenant.set(target.tenant, [target]);
    else group.push(target);
    this.forgetMatches(target.tenant);
  }

  private remove(id: string): void {
    const old = this.targets.get(id);
    if (old === undefined) return;
    this.targets.delete(id);
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

  /** Keeps the set in step with changes made by other instances: their announcements and a poll. */
  start(): void {
    if (this.timer) return;
    this.unlisten = this.deps.store.onSubscriptionChange?.(() => void this.backgroundRefresh());
    const tick = () => {
      this.timer = setTimeout(() => void this.backgroundRefresh().finally(tick), LIVE_SET_POLL_MS);
      this.timer.unref();
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.unlisten?.();
    this.unlisten = undefined;
  }

  /** A refresh nobody waits for: a failure is logged once per outage and the set stays as it was. */
  private async backgroundRefresh(): Promise<void> {
    try {
      await this.refresh();
      if (this.failing) this.deps.logger.info('subscription changes are read again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.deps.logger.warn({ err }, 'cannot read subscription changes; the subscriptions in force stay as they are');
      this.failing = true;
    }
  }

  /**
   * Called after every change applied, with the ids that changed (none: everything was re-read);
   * the dispatcher looks at those again, as one may have been enabled.
   */
  onChange(listener: (ids?: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(id: string): Target | undefined {
    return this.targets.get(id);
  }

  /** Whether the config file declares `id` (such subscriptions are read-only over the API). */
  declaredInConfig(id: string): boolean {
    return this.config.subscriptions.some((s) => s.id === id);
  }

  all(): Target[] {
    return [...this.targets.values()];
  }

  /** The enabled targets; a shared array, not to be modified. */
  enabled(): readonly Target[] {
    return (this.enabledCache ??= this.all().filter((t) => t.enabled));
  }

  /** The targets of one tenant (null: the platform's own), enabled or not: a copy, costing that tenant's count. */
  ofTenant(tenant: string | null): Target[] {
    return [...(this.byTenant.get(tenant) ?? [])];
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
      const candidates = this.ofTenant(tenant).filter((t) => t.enabled && t.matches(type));
      match = { always: candidates.filter((t) => !t.filter).map((t) => t.id), filtered: candidates.filter((t) => t.filter) };
      // Event types (and tenants sending) are bounded in practice; a cap keeps a flood of random ones from growing memory.
      if (this.cachedMatches > 100_000) {
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
    return [...match.always, ...match.filtered.filter((t) => t.filter?.(value)).map((t) => t.id)];
  }
}
