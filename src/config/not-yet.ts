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

/** One check per unbuilt feature; each returns the places in the config that ask for it. */
export const notYetChecks: ((config: Config) => NotYet[])[] = [];

/** Every unbuilt feature the config asks for; empty when it only uses what exists. */
export function findNotYet(config: Config): NotYet[] {
  return notYetChecks.flatMap((check) => check(config));
}
