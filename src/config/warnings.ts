import type { Config } from './schema';

/** Tokens of config.example.yaml: published, so never safe beyond a laptop. */
const EXAMPLE_TOKENS = new Set(['dev-ingest-token', 'dev-admin-token-change-me']);

/**
 * Settings that are valid but risky, in words an operator can act on: `check-config` prints them
 * and `serve` logs each at warn. An empty list means nothing to say.
 */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const { auth, delivery } = config;
  if (auth.ingest_tokens.length === 0) warnings.push('auth.ingest_tokens is empty: anyone who can reach /ingest can post events');
  if (auth.admin_tokens.length === 0) warnings.push('auth.admin_tokens is empty: the admin API and the dashboard refuse every request');
  const published = [...auth.ingest_tokens, ...auth.admin_tokens.map((t) => t.token)].filter((t) => EXAMPLE_TOKENS.has(t));
  if (published.length > 0) {
    warnings.push(
      `the example's published tokens are in use (${published.join(', ')}): set INGEST_TOKEN and ADMIN_TOKEN to secrets of your own`,
    );
  }
  if (delivery.allow_private_networks) {
    warnings.push('delivery.allow_private_networks is true: subscriptions may reach loopback, private and cloud metadata addresses');
  }
  return warnings;
}
