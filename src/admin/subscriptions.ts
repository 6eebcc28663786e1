import type { RelayCore } from '../app';
import { subscriptionSchema } from '../config/schema';
import { deliveryDefaults } from '../dispatch/load-targets';
import { compileTarget, type SubscriptionConfig } from '../dispatch/registry';
import { findApiSubscription, isDeclaredInConfig, loadRecords, renderRecords } from './subscription-records';
import { declaredInConfig, SubscriptionError, unknownSubscription } from './subscription-error';
import { changedFields, checkDestination, mergeSpec, parseSpec, withGeneratedSecret, type RawSpec } from './subscription-spec';
import type { CreatedSubscriptionView, SubscriptionView } from './subscription-view';

// Subscriptions over the admin API (SPEC 8): the logic behind the routes, without HTTP.
// Config-declared subscriptions are read-only here except for their run-time `enabled`.

/** One page of subscriptions in id order; the cursor is the last id shown, base64url. */
export async function listSubscriptions(core: RelayCore, page: { limit: number; cursor?: string | undefined }) {
  const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
  const sorted = [...(await loadRecords(core)).values()].sort((a, b) => (a.def.id < b.def.id ? -1 : 1));
  const rest = after === undefined ? sorted : sorted.filter((r) => r.def.id > after);
  const shown = rest.slice(0, page.limit);
  const last = shown.at(-1);
  return {
    data: await renderRecords(core, shown),
    nextCursor: rest.length > page.limit && last ? Buffer.from(last.def.id).toString('base64url') : null,
  };
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  // Any string would do for "after this id"; refusing a non-round-tripping one catches typos.
  if (id === '' || Buffer.from(id).toString('base64url') !== cursor) {
    throw new SubscriptionError('invalid', 'invalid cursor', [
      { path: ['cursor'], message: "not a next_cursor of this listing; start again without 'cursor'" },
    ]);
  }
  return id;
}

/** The view of one subscription; 404 when unknown. */
export async function getSubscription(core: RelayCore, id: string): Promise<SubscriptionView> {
  const record = (await loadRecords(core)).get(id);
  if (!record) throw unknownSubscription(id);
  const [view] = await renderRecords(core, [record]);
  return view!;
}

/**
 * Creates an API subscription from a config-shaped body, generating the secret when omitted;
 * answers its view with the secret, the only time it is shown.
 */
export async function createSubscription(
  core: RelayCore,
  body: RawSpec,
): Promise<{ view: CreatedSubscriptionView; secretGenerated: boolean }> {
  const spec = withGeneratedSecret(body);
  const def = parseSpec(spec);
  checkDestination(def.url, core.config().delivery);
  const taken = () =>
    new SubscriptionError(
      'conflict',
      `subscription id '${def.id}' is already used by a ${isDeclaredInConfig(core, def.id) ? 'config' : 'API'} subscription`,
    );
  if (isDeclaredInConfig(core, def.id) || core.registry.get(def.id)) throw taken();
  const now = core.clock.now();
  if (!(await core.store.insertApiSubscription(def.id, spec, now))) throw taken();
  // A new subscription starts as declared, whatever a removed one with this id left behind.
  const stale = (await core.store.getSubscriptionStates()).find((s) => s.id === def.id);
  if (stale && stale.enabled !== null) await core.store.setSubscriptionEnabled(def.id, null, null, now);
  core.registry.upsert(compileTarget(def, deliveryDefaults(core.config()), 'api'), undefined);
  const view = await getSubscription(core, def.id);
  const secret = def.signature.secret;
  return {
    view: { ...view, signature: { ...view.signature, ...(secret !== undefined && { secret }) } },
    secretGenerated: body !== spec,
  };
}

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
export async function updateSubscription(core: RelayCore, id: string, patch: RawSpec, actor: string): Promise<UpdateResult> {
  if ('id' in patch && patch.id !== id) {
    throw new SubscriptionError('invalid', 'the id of a subscription cannot change', [
      { path: ['id'], message: 'cannot change; create a subscription with the new id and delete this one' },
    ]);
  }
  if (isDeclaredInConfig(core, id)) return updateConfigSubscription(core, id, patch, actor);
  const stored = await findApiSubscription(core, id);
  if (!stored) throw unknownSubscription(id);
  const merged = mergeSpec(stored.spec, patch);
  const def = parseSpec(merged);
  // Only a new URL: a stored one the config now blocks must still accept {"enabled": false}.
  if ('url' in patch) checkDestination(def.url, core.config().delivery);
  const changed = changedFields(effective(stored.spec), def as unknown as RawSpec);
  const now = core.clock.now();
  const wasEnabled = core.registry.get(id)?.enabled;
  if (changed.length > 0 && !(await core.store.updateApiSubscription(id, merged, now))) throw unknownSubscription(id);
  if (typeof patch.enabled === 'boolean') await setEnabled(core, id, patch.enabled, def.enabled, actor, now);
  await upsertApiTarget(core, def);
  if (wasEnabled !== core.registry.get(id)?.enabled && !changed.includes('enabled')) changed.push('enabled');
  core.nudge();
  return { view: await getSubscription(core, id), changed: changed.sort() };
}

async function updateConfigSubscription(core: RelayCore, id: string, patch: RawSpec, actor: string): Promise<UpdateResult> {
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
      throw new SubscriptionError('invalid', 'the request does not match the schema', [
        { path: ['enabled'], message: 'expected true or false' },
      ]);
    }
    const declared = core.config().subscriptions.find((s) => s.id === id)!.enabled;
    const before = core.registry.get(id)?.enabled;
    await setEnabled(core, id, patch.enabled, declared, actor, core.clock.now());
    if (before !== patch.enabled) changed.push('enabled');
  }
  return { view: await getSubscription(core, id), changed };
}

/**
 * Persists a run-time enable/disable (survives restarts) and applies it to dispatch. Enabling
 * clears any disable, including one from a 410 Gone; the override is dropped (null: follow the
 * declaration) when the declaration already says enabled, so a later config edit still applies.
 */
async function setEnabled(core: RelayCore, id: string, enabled: boolean, declared: boolean, actor: string, now: number): Promise<void> {
  const override = enabled && declared ? null : enabled;
  const reason = enabled ? null : `disabled through the admin API by '${actor}'`;
  await core.store.setSubscriptionEnabled(id, override, reason, now);
  core.registry.setEnabled(id, override, reason);
  if (enabled) core.nudge();
}

/** A definition with defaults filled in, so `{}` and `{scheme: 'standard-webhooks'}` compare equal; raw if it no longer validates. */
function effective(spec: RawSpec): RawSpec {
  const parsed = subscriptionSchema.safeParse(spec);
  return parsed.success ? (parsed.data as unknown as RawSpec) : spec;
}

/** Recompiles an API subscription into the registry, keeping its persisted run-time state. */
export async function upsertApiTarget(core: RelayCore, def: SubscriptionConfig): Promise<void> {
  const state = (await core.store.getSubscriptionStates()).find((s) => s.id === def.id);
  core.registry.upsert(compileTarget(def, deliveryDefaults(core.config()), 'api'), state);
}

/** Deletes an API subscription (its waiting deliveries are cancelled); config ones 409. */
export async function deleteSubscription(core: RelayCore, id: string): Promise<void> {
  if (isDeclaredInConfig(core, id)) throw declaredInConfig(id, 'remove it from the config file and reload instead');
  if (!(await core.store.deleteApiSubscription(id, core.clock.now()))) throw unknownSubscription(id);
  core.registry.remove(id);
}
