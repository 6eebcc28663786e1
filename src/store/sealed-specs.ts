import { isSealed, type SecretBox, SecretUnreadableError } from './secret-box';
import type { Store, StoredApiSubscription } from './types';

// The one place where the secrets of API subscriptions are sealed on their way into storage and
// opened on their way out (SPEC 13), for every backend: the rest of the relay sees plain specs.

type Spec = Record<string, unknown>;

/**
 * A copy of `spec` with `fn` applied to each value that holds a secret: `signature.secret`, each
 * `signature.previous_secrets[].secret` and every `headers` value. `field` names the value's place.
 */
function mapSecrets(spec: Spec, fn: (value: unknown, field: string) => unknown): Spec {
  const out: Spec = { ...spec };
  if (isObject(spec.signature)) {
    const signature: Spec = { ...spec.signature };
    if (signature.secret !== undefined) signature.secret = fn(signature.secret, 'signature.secret');
    if (Array.isArray(signature.previous_secrets)) {
      signature.previous_secrets = signature.previous_secrets.map((p: unknown, i) =>
        isObject(p) && p.secret !== undefined ? { ...p, secret: fn(p.secret, `signature.previous_secrets[${i}].secret`) } : p,
      );
    }
    out.signature = signature;
  }
  if (isObject(spec.headers)) {
    out.headers = Object.fromEntries(Object.entries(spec.headers).map(([name, value]) => [name, fn(value, `headers.${name}`)]));
  }
  return out;
}

/** Binds a sealed value to its subscription and place: one moved elsewhere (say into a header) does not open. */
const context = (id: string, field: string) => `hookrelay api_subscriptions ${id} ${field}`;

/** The spec as stored: its secrets sealed with the current key, or as given when there is none. */
export function sealSpec(box: SecretBox, id: string, spec: Spec): Spec {
  if (!box.sealing) return spec;
  return mapSecrets(spec, (value, field) => (typeof value === 'string' ? box.seal(value, context(id, field)) : value));
}

/**
 * The stored spec with its secrets opened; `stale` when writing it again would store it
 * differently (sealed with an older key, in clear while a key is set, or sealed while none is).
 * Throws SecretUnreadableError when a secret cannot be opened with the configured keys.
 */
export function openSpec(box: SecretBox, id: string, spec: Spec): { spec: Spec; stale: boolean } {
  let stale = false;
  const opened = mapSecrets(spec, (value, field) => {
    if (isSealed(value)) {
      stale ||= !box.isCurrent(value);
      return box.open(value, context(id, field));
    }
    stale ||= box.sealing && typeof value === 'string';
    return value;
  });
  return { spec: opened, stale };
}

/**
 * `store` with the specs of API subscriptions sealed when written and opened when read. A row
 * whose secrets cannot be opened (no key, or not the one they were sealed with) is still returned,
 * spec as stored, with `unreadable` saying why: the caller skips it, the other rows still load.
 */
export function withSealedSpecs(store: Store, box: SecretBox): Store {
  const open = (row: StoredApiSubscription): StoredApiSubscription => {
    try {
      return { ...row, spec: openSpec(box, row.id, row.spec).spec };
    } catch (err) {
      if (err instanceof SecretUnreadableError) return { ...row, unreadable: err.message };
      throw err;
    }
  };
  return {
    ...store,
    listApiSubscriptions: async (page) => (await store.listApiSubscriptions(page)).map(open),
    async getApiSubscription(id) {
      const row = await store.getApiSubscription(id);
      return row && open(row);
    },
    insertApiSubscription: (id, spec, now, tenant) => store.insertApiSubscription(id, sealSpec(box, id, spec), now, tenant),
    insertTenantSubscription: (id, spec, now, tenant, defaultMax) =>
      store.insertTenantSubscription(id, sealSpec(box, id, spec), now, tenant, defaultMax),
    updateApiSubscription: (id, spec, now, ifUpdatedAt) => store.updateApiSubscription(id, sealSpec(box, id, spec), now, ifUpdatedAt),
  };
}

/** What resealSpecs did. */
export interface ResealReport {
  /** Ids rewritten with the current key (or in clear when none is set). */
  rewritten: string[];
  /** How many were already stored as they would be written now. */
  current: number;
  /** Rows left as they are because a secret could not be opened, with why. */
  unreadable: { id: string; reason: string }[];
}

/** Tries at one row whose every rewrite found it changed meanwhile, before it is reported. */
const RESEAL_TRIES = 5;

/**
 * Rewrites every API subscription whose secrets are not stored as `box` writes them now (key
 * rotation: afterwards no row needs a previous key). `store` is the backend itself, not the one
 * withSealedSpecs wraps. Each row is written only if nothing wrote it since it was read (its
 * `updatedAt`), so an edit made over the admin API meanwhile is never overwritten: the row is read
 * again and, if it still needs it, rewritten (a relay with the same keys already sealed it).
 */
export async function resealSpecs(store: Store, box: SecretBox, now: number): Promise<ResealReport> {
  const report: ResealReport = { rewritten: [], current: 0, unreadable: [] };
  for (const listed of await store.listApiSubscriptions()) {
    let row: StoredApiSubscription | null = listed;
    for (let tries = 0; row !== null; tries++) {
      if (tries === RESEAL_TRIES) {
        report.unreadable.push({ id: row.id, reason: `changed ${tries} times while being rewritten; run reencrypt again` });
        break;
      }
      let opened: { spec: Spec; stale: boolean };
      try {
        opened = openSpec(box, row.id, row.spec);
      } catch (err) {
        if (!(err instanceof SecretUnreadableError)) throw err;
        report.unreadable.push({ id: row.id, reason: err.message });
        break;
      }
      if (!opened.stale) {
        report.current++;
        break;
      }
      if (await store.updateApiSubscription(row.id, sealSpec(box, row.id, opened.spec), now, row.updatedAt)) {
        report.rewritten.push(row.id);
        break;
      }
      // Written (or deleted) since it was read: look again.
      row = await store.getApiSubscription(row.id);
    }
  }
  return report;
}

function isObject(value: unknown): value is Spec {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
