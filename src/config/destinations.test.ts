import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors';
import { parseConfigText } from './load';

const sub = (id: string, url: string) => `  - { id: ${id}, url: "${url}", signature: { scheme: none } }`;

function problems(text: string) {
  try {
    parseConfigText(text, { env: {} });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => [p.path, p.line, p.message]);
    throw err;
  }
}

describe('subscription URLs the network guard would block', () => {
  it('are config errors with their line when private networks are blocked', () => {
    const text = [
      'subscriptions:',
      sub('meta', 'http://169.254.169.254/latest'),
      sub('local', 'http://0x7f.1:9000/'),
      sub('ok', 'https://example.com/'),
    ].join('\n');
    expect(problems(text)).toEqual([
      ['subscriptions[0].url', 2, 'blocked: 169.254.169.254 is a link-local address (delivery.allow_private_networks is false)'],
      ['subscriptions[1].url', 3, 'blocked: 127.0.0.1 is a loopback address (delivery.allow_private_networks is false)'],
    ]);
  });

  it('load when private networks are allowed, or the address is in allowed_networks', () => {
    const subs = ['subscriptions:', sub('local', 'http://127.0.0.1:9000/')];
    expect(problems(['delivery: { allow_private_networks: true }', ...subs].join('\n'))).toEqual([]);
    expect(problems(['delivery: { allowed_networks: [127.0.0.0/8] }', ...subs].join('\n'))).toEqual([]);
  });
});
