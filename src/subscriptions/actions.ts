import { subscriptionSchema } from '../config/schema';
import { AppError, invalidRequest } from '../lib/app-error';
import { parseDuration } from '../lib/durations';
import { newEventId } from '../lib/ids';
import { isoOrNull } from '../lib/time';
import { ed25519PublicKey } from '../signing';
import { declaredInConfig, generateSecret, isObject, parseSpec, specErrors, unknownSubscription } from './definition';
import type { SubscriptionDeps } from './service';
import { assertReadable } from './sources';

/** The answer to a rotation: the new secret, shown this once, and when the old ones stop signing. */
export interface RotationResult {
  secret: string;
  public_key?: string;
  previous_secrets: { expires: string }[];
}

/**
 * Makes a new current secret (given, or generated for the scheme); the old one keeps signing
 * until now + `keepOldFor` (a duration like "24h"), next to the new one. Previous secrets already
 * expired are dropped. API subscriptions only.
 */
export async function rotateSecret(
  deps: SubscriptionDeps,
  id: string,
  input: { secret?: string | undefined; keepOldFor: string },
): Promise<RotationResult> {
  if (deps.live.declaredInConfig(id)) {
    throw declaredInConfig(
      id,
      'rotate its secret in the config file: set signature.secret to the new one, list the old one under signature.previous_secrets with an expires time, then reload',
    );
  }
  const stored = await deps.store.getApiSubscription(id);
  if (!stored) throw unknownSubscription(id);
  assertReadable(stored);
  const def = parseSpec(stored.spec, 'the stored subscription no longer validates; fix it with PATCH first');
  const { scheme, secret: old } = def.signature;
  if (scheme === 'none')
    throw new AppError(409, 'no_secret', { detail: `subscription '${id}' has signature scheme none: there is no secret to rotate` });
  const keepMs = parseKeep(input.keepOldFor);
  const secret = input.secret ?? generateSecret(scheme)!;
  if (secret === old)
    throw invalidRequest('the new secret is the current one', [{ path: 'secret', message: 'must differ from the current secret' }]);

  const now = deps.clock.now();
  const previous = def.signature.previous_secrets.filter((p) => p.expires > now);
  if (old !== undefined && keepMs > 0) previous.push({ secret: old, expires: now + keepMs });
  const signature = isObject(stored.spec.signature) ? stored.spec.signature : {};
  const spec = {
    ...stored.spec,
    signature: { ...signature, secret, previous_secrets: previous.map((p) => ({ secret: p.secret, expires: isoOrNull(p.expires)! })) },
  };
  const parsed = subscriptionSchema.safeParse(spec);
  if (!parsed.success) {
    // Only the new secret is new here: point its problems at the request's own `secret`.
    const errors = specErrors(parsed.error.issues).map((e) => (e.path === 'signature.secret' ? { ...e, path: 'secret' } : e));
    throw invalidRequest(`the secret is not valid for scheme ${scheme}`, errors);
  }
  if (!(await deps.store.updateApiSubscription(id, spec, now))) throw unknownSubscription(id);
  await deps.live.refresh();
  return {
    secret,
    ...(scheme === 'ed25519' && { public_key: ed25519PublicKey(secret) }),
    previous_secrets: parsed.data.signature.previous_secrets.map((p) => ({ expires: isoOrNull(p.expires)! })),
  };
}

function parseKeep(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw invalidRequest('the request does not match the schema', [{ path: 'keep_old_for', message: (err as Error).message }]);
  }
}

/**
 * Stores a `hookrelay.test` event with one delivery, to this subscription only (whatever its
 * patterns and filter say); with `example`, an event of that catalog type whose data is its example
 * (SPEC 11). 409 when it is disabled: nothing would claim the delivery.
 */
export async function sendTestEvent(
  deps: SubscriptionDeps,
  id: string,
  example?: { type: string; dataText: string },
): Promise<{ eventId: string; deliveryId: string }> {
  const target = deps.live.get(id);
  if (!target) throw unknownSubscription(id);
  if (!target.enabled) {
    throw new AppError(409, 'subscription_disabled', {
      detail: `subscription '${id}' is disabled, so its test delivery would never be sent; enable it first (PATCH {"enabled": true})`,
    });
  }
  const now = deps.clock.now();
  const eventId = newEventId(now);
  const dataText = example?.dataText ?? JSON.stringify({ message: 'test event from hookrelay', subscription: id, sent_at: isoOrNull(now) });
  // The id is new, so it doubles as a content hash no other event can share. A tenant's
  // subscription gets an event of that tenant, so its credential sees it (SPEC 9).
  const tenant = target.tenant ?? undefined;
  const event = {
    id: eventId,
    type: example?.type ?? 'hookrelay.test',
    test: true,
    data: dataText,
    contentHash: eventId,
    createdAt: now,
    subscriptionIds: [id],
  };
  const [result] = await deps.store.ingest([[tenant === undefined ? event : { ...event, tenant }]]);
  if (result?.kind === 'tenant_erasing') {
    throw new AppError(409, 'tenant_erasing', { detail: `tenant '${result.tenant}' is being erased; no test event can be sent` });
  }
  if (result?.kind !== 'ok') throw new Error(`test event ${eventId} was not stored: ${JSON.stringify(result)}`);
  deps.nudge();
  const [delivery] = await deps.store.listDeliveriesOfEvent(eventId);
  if (!delivery) throw new Error(`test event ${eventId} has no delivery`);
  return { eventId, deliveryId: delivery.id };
}

/** Makes every `failed` delivery of the subscription created in [since, until) due now; returns how many. */
export async function recoverDeliveries(
  deps: SubscriptionDeps,
  id: string,
  window: { since: number; until?: number | undefined },
): Promise<number> {
  if (!deps.live.get(id)) throw unknownSubscription(id);
  const now = deps.clock.now();
  const until = window.until ?? now;
  if (window.since >= until) {
    throw invalidRequest('the window is empty', [
      { path: window.until === undefined ? 'since' : 'until', message: 'since must be before until (default: now)' },
    ]);
  }
  const recovered = await deps.store.recoverDeliveries(id, window.since, until, now);
  if (recovered > 0) deps.nudge();
  return recovered;
}
