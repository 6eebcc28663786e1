import type { Config } from '../config/schema';
import { subscriptionSchema } from '../config/schema';
import { AppError, type FieldError, invalidRequest } from '../lib/app-error';
import { formatDuration } from '../lib/durations';
import type { Clock } from '../lib/clock';
import { newSubscriptionId } from '../lib/ids';
import { TENANT_ID_HINT, TENANT_ID_PATTERN } from '../tenants/tenant-id';
import type { Store } from '../store/types';
import {
  changedFields,
  checkDestination,
  declaredInConfig,
  type DestinationRules,
  mergeSpec,
  normalisedSpec,
  parseSpec,
  type RawSpec,
  type SubscriptionDefinition,
  unknownSubscription,
  withGeneratedSecret,
} from './definition';
import type { LiveSubscriptions } from './live-set';
import { assertReadable } from './sources';
import type { Target } from './target';
import { type CreatedSubscriptionView, type SubscriptionView, subscriptionView } from './view';

// Subscriptions over the admin API (SPEC 8): the logic behind the routes, without HTTP. Every
// change is written to the store, then the live set is refreshed from it, so it is in force here at
// once and on other instances within a second. Config-declared subscriptions are read-only here
// except for their run-time `enabled`.

/** What the subscription actions need. */
export interface SubscriptionDeps {
  store: Store;
  live: LiveSubscriptions;
  clock: Clock;
  config(): Config;
  /** Wake the dispatcher: deliveries may be due. */
  nudge(): void;
}

/**
 * One page of subscriptions in id order; the cursor is the last id shown, base64url. `tenant`: only
 * that tenant's (null: the platform's own), found through the live set's index by tenant.
 */
export async function listSubscriptions(
  deps: SubscriptionDeps,
  page: { limit: number; cursor?: string | undefined; tenant?: string | null | undefined },
) {
  const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
  const chosen = page.tenant === undefined ? deps.live.all() : deps.live.ofTenant(page.tenant);
  // One page plus one (to know whether more follow), without sorting every subscription.
  const next = smallestAfter(chosen, after, page.limit + 1);
  const shown = next.slice(0, page.limit);
  const last = shown.at(-1);
  return {
    data: await renderTargets(
      deps,
      shown.flatMap((r) => deps.live.get(r.id) ?? []),
    ),
    nextCursor: next.length > page.limit && last ? Buffer.from(last.id).toString('base64url') : null,
  };
}

/** The `k` targets with the smallest ids above `after`, in id order: one pass over `targets`, keeping k. */
function smallestAfter<T extends { id: string }>(targets: Iterable<T>, after: string | undefined, k: number): T[] {
  const kept: T[] = [];
  for (const t of targets) {
    if (after !== undefined && t.id <= after) continue;
    if (kept.length === k && t.id >= kept[k - 1]!.id) continue;
    // Insert in order (kept stays sorted); most ids of a large set fail the test above.
    let i = kept.length;
    while (i > 0 && kept[i - 1]!.id > t.id) i--;
    kept.splice(i, 0, t);
    if (kept.length > k) kept.pop();
  }
  return kept;
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  // Any string would do for "after this id"; refusing a non-round-tripping one catches typos.
  if (id === '' || Buffer.from(id).toString('base64url') !== cursor) {
    throw new AppError(400, 'invalid_cursor', {
      detail: 'invalid cursor',
      errors: [{ path: 'cursor', message: "not a next_cursor of this listing; start again without 'cursor'" }],
    });
  }
  return id;
}

/** The view of one subscription; 404 when unknown. */
export async function getSubscription(deps: SubscriptionDeps, id: string): Promise<SubscriptionView> {
  const target = deps.live.get(id);
  if (!target) throw unknownSubscription(id);
  const [view] = await renderTargets(deps, [target]);
  return view!;
}

/** Renders targets with their health and backlog (reading those subscriptions' rows alone). */
async function renderTargets(deps: SubscriptionDeps, targets: Target[]): Promise<SubscriptionView[]> {
  if (targets.length === 0) return [];
  const ids = targets.map((t) => t.id);
  const [states, stats] = await Promise.all([deps.store.getSubscriptionStates(ids), deps.store.deliveryStats(ids)]);
  const stateOf = new Map(states.map((s) => [s.id, s]));
  const statsOf = new Map(stats.map((s) => [s.subscriptionId, s]));
  const visible = deps.config().delivery.visible_headers;
  return targets.map((t) => subscriptionView(t, { state: stateOf.get(t.id), stats: statsOf.get(t.id) }, visible));
}

/**
 * Creates an API subscription from a config-shaped body plus an optional `tenant` (its owner, which
 * must have a record: 404 otherwise), generating the id (`sub_…`) and the secret when omitted;
 * answers its view with the secret, the only time it is shown.
 */
export async function createSubscription(
  deps: SubscriptionDeps,
  request: RawSpec,
  as: Acting = {},
): Promise<{ view: CreatedSubscriptionView; secretGenerated: boolean }> {
  const { tenant: givenTenant, ...rest } = request;
  const tenant = as.owner === undefined ? await ownerOf(deps, givenTenant) : ownedBy(as.owner, request);
  const body = rest.id === undefined ? { id: newSubscriptionId(deps.clock.now()), ...rest } : rest;
  const given = withGeneratedSecret(body);
  const def = parseSpec(given);
  const spec = normalisedSpec(given, def);
  checkDestination(def.url, destinationRules(deps, tenant));
  if (tenant !== undefined) checkBounds(deps, def);
  const inConfig = deps.live.declaredInConfig(def.id);
  const taken = () =>
    new AppError(409, 'subscription_exists', {
      detail: `subscription id '${def.id}' is already used by a ${inConfig ? 'config' : 'API'} subscription`,
    });
  if (inConfig || deps.live.get(def.id)) throw taken();
  const now = deps.clock.now();
  if (tenant === undefined) {
    if (!(await deps.store.insertApiSubscription(def.id, spec, now))) throw taken();
  } else {
    // max_subscriptions (SPEC 9) for every creation of a tenant's subscription, counted under the store's lock.
    const inserted = await deps.store.insertTenantSubscription(def.id, spec, now, tenant, deps.config().tenants.max_subscriptions);
    if (inserted.result === 'taken') throw taken();
    if (inserted.result === 'no_tenant') throw noTenant(tenant);
    if (inserted.result === 'limit') {
      throw new AppError(409, 'subscription_limit', {
        detail: `tenant '${tenant}' has reached its limit of ${inserted.limit} subscriptions (max_subscriptions)`,
      });
    }
  }
  // A new subscription starts as declared, whatever a removed one with this id left behind.
  const [stale] = await deps.store.getSubscriptionStates([def.id]);
  if (stale && stale.enabled !== null) await deps.store.setSubscriptionEnabled(def.id, null, null, now);
  await deps.live.refresh();
  const view = await getSubscription(deps, def.id);
  const secret = def.signature.secret;
  return {
    view: { ...view, signature: { ...view.signature, ...(secret !== undefined && { secret }) } },
    secretGenerated: body !== given,
  };
}

/**
 * Who acts (SPEC 9): `owner` is the tenant of a tenant credential, which acts on its own
 * subscriptions only and is always held to the blocked ranges of SPEC 7.
 */
export interface Acting {
  owner?: string | undefined;
}

/**
 * SPEC 7's rules for a new URL: a tenant's subscription (whoever creates or changes it) is always
 * held to the strict ones, whatever `delivery.allow_private_networks` says; only
 * `tenants.allowed_networks` exempts a range (SPEC 9). Reads the current config, so a reload applies.
 */
function destinationRules(deps: SubscriptionDeps, tenant: string | undefined): DestinationRules {
  const config = deps.config();
  return tenant === undefined
    ? config.delivery
    : { allow_private_networks: false, allowed_networks: config.tenants.allowed_networks, tenant: true };
}

/**
 * `tenants.subscription_bounds` (SPEC 9): the most a tenant's subscription may ask for, checked on
 * every create and on a PATCH of the bounded fields, whoever makes it (400 with the path).
 */
function checkBounds(deps: SubscriptionDeps, def: SubscriptionDefinition, patch?: RawSpec): void {
  const bounds = deps.config().tenants.subscription_bounds;
  const asked = (key: string) => patch === undefined || key in patch;
  const errors: FieldError[] = [];
  if (asked('timeout') && def.timeout !== undefined && def.timeout > bounds.timeout) {
    errors.push({ path: 'timeout', message: `must be at most ${formatDuration(bounds.timeout)} (tenants.subscription_bounds.timeout)` });
  }
  if (asked('max_in_flight') && def.max_in_flight !== undefined && def.max_in_flight > bounds.max_in_flight) {
    errors.push({ path: 'max_in_flight', message: `must be at most ${bounds.max_in_flight} (tenants.subscription_bounds.max_in_flight)` });
  }
  if (asked('retry_schedule') && def.retry_schedule !== undefined) {
    if (def.retry_schedule.length > bounds.retries) {
      errors.push({ path: 'retry_schedule', message: `must list at most ${bounds.retries} delays (tenants.subscription_bounds.retries)` });
    }
    def.retry_schedule.forEach((delay, i) => {
      if (delay > bounds.max_delay) {
        errors.push({
          path: `retry_schedule[${i}]`,
          message: `must be at most ${formatDuration(bounds.max_delay)} (tenants.subscription_bounds.max_delay)`,
        });
      }
    });
  }
  if (errors.length > 0) throw invalidRequest("the subscription exceeds the tenants' subscription bounds", errors);
}

/**
 * The owner of a subscription a tenant credential creates: itself. No `id` may be given (400), no
 * other `tenant` (403). Its `max_subscriptions` is held at the insert (createSubscription).
 */
function ownedBy(owner: string, request: RawSpec): string {
  if (request.id !== undefined) {
    throw invalidRequest('a tenant credential cannot choose the id', [{ path: 'id', message: 'leave it out: the relay makes one' }]);
  }
  if (request.tenant !== undefined && request.tenant !== owner) {
    throw new AppError(403, 'forbidden', { detail: `a credential of tenant '${owner}' creates subscriptions of '${owner}' only` });
  }
  return owner;
}

/** The tenant a new subscription belongs to: undefined for none; 400 for an invalid id, 404 for one without a record. */
async function ownerOf(deps: SubscriptionDeps, tenant: unknown): Promise<string | undefined> {
  if (tenant === undefined || tenant === null) return undefined;
  if (typeof tenant !== 'string' || !TENANT_ID_PATTERN.test(tenant)) {
    throw invalidRequest('the subscription is invalid', [{ path: 'tenant', message: TENANT_ID_HINT }]);
  }
  if ((await deps.store.getTenant(tenant)) === null) throw noTenant(tenant);
  return tenant;
}

const noTenant = (tenant: string) =>
  new AppError(404, 'tenant_not_found', { detail: `no tenant '${tenant}': create it with PUT /tenants/${tenant} first` });

/** Result of a PATCH: the new view and the names of the fields that changed. */
export interface UpdateResult {
  view: SubscriptionView;
  changed: string[];
}

/**
 * Changes a subscription. Config ones accept only `enabled` (409 otherwise); API ones merge the
 * given fields into the stored definition (see mergeSpec) and validate the whole result again.
 * `actor` names who disabled it in `disabled_reason`.
 */
export async function updateSubscription(deps: SubscriptionDeps, id: string, patch: RawSpec, actor: string): Promise<UpdateResult> {
  if ('tenant' in patch) {
    throw invalidRequest('the tenant of a subscription cannot change', [
      { path: 'tenant', message: 'fixed at creation; create a subscription for the other tenant and delete this one' },
    ]);
  }
  if ('id' in patch && patch.id !== id) {
    throw invalidRequest('the id of a subscription cannot change', [
      { path: 'id', message: 'cannot change; create a subscription with the new id and delete this one' },
    ]);
  }
  if (deps.live.declaredInConfig(id)) return updateConfigSubscription(deps, id, patch, actor);
  const stored = await deps.store.getApiSubscription(id);
  if (!stored) throw unknownSubscription(id);
  assertReadable(stored);
  const given = mergeSpec(stored.spec, patch);
  const def = parseSpec(given);
  const merged = normalisedSpec(given, def);
  // Only a new URL: a stored one the config now blocks must still accept {"enabled": false}.
  if ('url' in patch) checkDestination(def.url, destinationRules(deps, stored.tenant));
  if (stored.tenant !== undefined) checkBounds(deps, def, patch);
  const changed = changedFields(effective(stored.spec), def as unknown as RawSpec);
  const now = deps.clock.now();
  const wasEnabled = deps.live.get(id)?.enabled;
  if (changed.length > 0 && !(await deps.store.updateApiSubscription(id, merged, now))) throw unknownSubscription(id);
  if (typeof patch.enabled === 'boolean') await setEnabled(deps, id, patch.enabled, def.enabled, actor, now);
  await deps.live.refresh();
  if (wasEnabled !== deps.live.get(id)?.enabled && !changed.includes('enabled')) changed.push('enabled');
  deps.nudge();
  return { view: await getSubscription(deps, id), changed: changed.sort() };
}

async function updateConfigSubscription(deps: SubscriptionDeps, id: string, patch: RawSpec, actor: string): Promise<UpdateResult> {
  const others = Object.keys(patch).filter((k) => k !== 'enabled' && k !== 'id');
  if (others.length > 0) {
    throw declaredInConfig(
      id,
      `only enabled can change at run time (got ${others.join(', ')}); edit the config file and reload to change the rest`,
    );
  }
  const changed: string[] = [];
  if ('enabled' in patch) {
    if (typeof patch.enabled !== 'boolean') {
      throw invalidRequest('the request does not match the schema', [{ path: 'enabled', message: 'expected true or false' }]);
    }
    const target = deps.live.get(id);
    const before = target?.enabled;
    await setEnabled(deps, id, patch.enabled, target?.def.enabled ?? true, actor, deps.clock.now());
    await deps.live.refresh();
    if (before !== patch.enabled) changed.push('enabled');
  }
  return { view: await getSubscription(deps, id), changed };
}

/**
 * Persists a run-time enable/disable (survives restarts). Enabling clears any disable, including
 * one from a 410 Gone; the override is dropped (null: follow the declaration) when the declaration
 * already says enabled, so a later config edit still applies.
 */
async function setEnabled(deps: SubscriptionDeps, id: string, enabled: boolean, declared: boolean, actor: string, now: number) {
  const override = enabled && declared ? null : enabled;
  const reason = enabled ? null : `disabled through the admin API by '${actor}'`;
  await deps.store.setSubscriptionEnabled(id, override, reason, now);
  if (enabled) deps.nudge();
}

/** A definition with defaults filled in, so `{}` and `{scheme: 'standard-webhooks'}` compare equal; raw if it no longer validates. */
function effective(spec: RawSpec): RawSpec {
  const parsed = subscriptionSchema.safeParse(spec);
  return parsed.success ? (parsed.data as unknown as RawSpec) : spec;
}

/** Deletes an API subscription (its waiting deliveries are cancelled); config ones 409. */
export async function deleteSubscription(deps: SubscriptionDeps, id: string): Promise<void> {
  if (deps.live.declaredInConfig(id)) throw declaredInConfig(id, 'remove it from the config file and reload instead');
  if (!(await deps.store.deleteApiSubscription(id, deps.clock.now()))) throw unknownSubscription(id);
  await deps.live.refresh();
}
