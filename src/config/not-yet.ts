import type { Config } from './schema';

// Features the schema accepts (so configs written for later versions stay valid YAML) but the
// relay does not do yet. Refusing them beats silently delivering unsigned, unordered or unfiltered.
// Delete an entry when its feature lands.

/** A setting that is valid but not built yet, at its config path. */
export interface NotYet {
  /** Path into the config, e.g. ['subscriptions', 0, 'encrypt']. */
  path: (string | number)[];
  /** Why it is refused. */
  message: string;
}

type Subscription = Config['subscriptions'][number];

/** Runs `check` on every subscription, prefixing its path. */
function perSubscription(check: (sub: Subscription) => NotYet | null) {
  return (config: Config): NotYet[] =>
    config.subscriptions.flatMap((sub, i) => {
      const found = check(sub);
      return found ? [{ path: ['subscriptions', i, ...found.path], message: found.message }] : [];
    });
}

/** One check per unbuilt feature; each returns the places in the config that ask for it. */
export const notYetChecks: ((config: Config) => NotYet[])[] = [
  perSubscription((s) =>
    s.rate_limit ? { path: ['rate_limit'], message: 'a per-subscription rate_limit is not supported yet (remove it or set it to off)' } : null,
  ),
  perSubscription((s) =>
    s.ordering === 'fifo' ? { path: ['ordering'], message: 'ordering: fifo is not supported yet' } : null,
  ),
  (c) => (c.storage.postgres ? [{ path: ['storage', 'postgres'], message: 'storage.postgres is not supported yet; use storage.sqlite' }] : []),
];

/** Every unbuilt feature the config asks for; empty when it only uses what exists. */
export function findNotYet(config: Config): NotYet[] {
  return notYetChecks.flatMap((check) => check(config));
}
