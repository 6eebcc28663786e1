import { describe, expect, it } from 'vitest';
import { ConfigError, type Problem } from './errors';
import { parseConfigText } from './load';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function problemsOf(text: string): Problem[] {
  try {
    parseConfigText(text, { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

/** A one-subscription config with `extra` lines added to the subscription (at line 4 onwards). */
const withSub = (...extra: string[]) => `${['subscriptions:', '  - id: a', '    url: https://x.test/', ...extra].join('\n')}\n`;

describe('features that are built load without problems', () => {
  it.each(['stripe', 'github', 'ed25519', 'hmac-sha256'])('signature scheme %s', (scheme) => {
    const sig =
      scheme === 'ed25519'
        ? `{ scheme: ed25519, secret: whsk_${Buffer.alloc(32).toString('base64')} }`
        : `{ scheme: ${scheme}, secret: s }`;
    const fixed = scheme === 'hmac-sha256' ? sig.replace(' }', ', header: X-Sig }') : sig;
    expect(problemsOf(withSub(`    signature: ${fixed}`))).toEqual([]);
  });

  it('previous_secrets and encrypt', () => {
    const lines = [
      '    signature:',
      `      secret: ${SECRET}`,
      `      previous_secrets: [{ secret: ${SECRET}, expires: "2026-12-01T00:00:00Z" }]`,
      '    encrypt: true',
    ];
    expect(problemsOf(withSub(...lines))).toEqual([]);
  });

  it('per-subscription rate_limit, max_in_flight and ordering', () => {
    const sig = `    signature: { secret: ${SECRET} }`;
    expect(problemsOf(withSub(sig, '    rate_limit: 50/s', '    max_in_flight: 4', '    ordering: fifo'))).toEqual([]);
    expect(problemsOf(withSub(sig, '    rate_limit: off', '    ordering: none'))).toEqual([]);
    expect(problemsOf('delivery:\n  disable_after: 12h\n')).toEqual([]);
  });

  it('auth.rate_limit for ingest and admin', () => {
    expect(problemsOf('auth:\n  rate_limit: { ingest: 1000/s, admin: 10/s }\n')).toEqual([]);
    expect(problemsOf('auth:\n  rate_limit: { ingest: off, admin: false }\n')).toEqual([]);
  });

  it('refuses encrypt with scheme none, and a signature header the relay sets itself', () => {
    expect(problemsOf(withSub('    signature: { scheme: none }', '    encrypt: true')).map((p) => [p.path, p.line])).toEqual([
      ['subscriptions[0].encrypt', 5],
    ]);
    const reserved = problemsOf(withSub('    signature: { scheme: hmac-sha256, secret: s, header: Webhook-Id }'));
    expect(reserved.map((p) => [p.path, p.message])).toEqual([
      ['subscriptions[0].signature.header', "'Webhook-Id' is set by the relay itself; choose another header name"],
    ]);
  });
});

describe('storage.postgres', () => {
  it('loads with its defaults, and refuses sqlite and postgres together', () => {
    const config = parseConfigText('storage:\n  postgres: { url: "postgres://db/relay" }\n', { env: {} });
    expect(config.storage.postgres).toEqual({ url: 'postgres://db/relay', lease_margin: 30_000, max_connections: 10 });
    const both = problemsOf('storage:\n  sqlite: { path: x.db }\n  postgres: { url: "postgres://db/relay" }\n');
    expect(both.map((p) => p.path)).toEqual(['storage.postgres']);
    expect(problemsOf('storage:\n  postgres: { url: "mysql://db/relay" }\n').map((p) => p.path)).toEqual(['storage.postgres.url']);
  });
});
