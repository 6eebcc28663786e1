import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors';
import { parseConfigText } from './load';

// SPEC 13 in the config file: the headers a subscription may add (and which of their values are
// shown) and its URL's normal form, each problem with its path and line.

/** [path, line, message] of every problem, or [] when the config loads. */
function problems(text: string): [string, number | null, string][] {
  try {
    parseConfigText(text, { env: {} });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => [p.path, p.line, p.message]);
    throw err;
  }
}

/** A config with one subscription `a` whose extra keys are the given YAML lines (4 spaces in). */
const subscription = (...extra: string[]) =>
  ['subscriptions:', '  - id: a', '    url: https://x.test/', '    signature: { scheme: none }', ...extra].join('\n');

const json = JSON.stringify;

describe('headers a subscription adds', () => {
  it.each([
    'Host',
    'host',
    'Content-Length',
    'Transfer-Encoding',
    'Expect',
    'Connection',
    'Upgrade',
    'TE',
    'Keep-Alive',
    'Proxy-Authorization',
    'Proxy-Connection',
  ])('refuse %s at its line', (name) => {
    const found = problems(subscription('    headers:', '      X-Env: prod', `      ${name}: x`));
    expect(found).toEqual([[`subscriptions[0].headers.${name}`, 7, expect.stringContaining(`'${name}' may not be set by a subscription`)]]);
  });

  it('explain why Host is refused', () => {
    expect(problems(subscription('    headers: { Host: internal.example }'))[0]?.[2]).toContain('put the host you need in the URL');
  });

  it.each([
    ['CR', 'a\rb'],
    ['LF', 'a\nb'],
    ['CRLF', 'a\r\nInjected: yes'],
    ['NUL', 'a\u0000b'],
    ['tab', 'a\tb'],
    ['DEL', 'a\u007fb'],
    ['C1', 'a\u0085b'],
  ])('refuse a value with %s', (_, value) => {
    expect(problems(subscription(`    headers: { X-Env: ${json(value)} }`))).toEqual([
      ['subscriptions[0].headers.X-Env', 5, 'must not contain control characters (CR, LF, NUL, tab, DEL…)'],
    ]);
  });

  it('refuse a value the HTTP client could not send, and accept Latin-1', () => {
    expect(problems(subscription('    headers: { X-Env: "snow ☃" }'))[0]?.[0]).toBe('subscriptions[0].headers.X-Env');
    expect(problems(subscription('    headers: { X-Env: "café", X-Empty: "" }'))).toEqual([]);
  });

  it('must be valid tokens', () => {
    const found = problems(subscription('    headers: { "X Env": a, "X:Env": b, "": c, "X-Ok": d }'));
    expect(found.map(([path, line]) => [path, line])).toEqual([
      ['subscriptions[0].headers["X Env"]', 5],
      ['subscriptions[0].headers["X:Env"]', 5],
      ['subscriptions[0].headers[""]', 5],
    ]);
  });

  it('may be made visible with delivery.visible_headers (names, checked as header names)', () => {
    const config = parseConfigText('delivery: { visible_headers: [X-Env, x-region] }\n', { env: {} });
    expect(config.delivery.visible_headers).toEqual(['X-Env', 'x-region']);
    expect(parseConfigText('', { env: {} }).delivery.visible_headers).toEqual([]);
    expect(problems('delivery:\n  visible_headers: ["X Env"]\n').map(([path, line]) => [path, line])).toEqual([
      ['delivery.visible_headers[0]', 2],
    ]);
  });
});

describe('subscription URLs', () => {
  it('are kept in their WHATWG normal form', () => {
    const text = ['subscriptions:', '  - { id: a, url: "HTTP://Example.COM:80/a/../b", signature: { scheme: none } }'].join('\n');
    expect(parseConfigText(text, { env: {} }).subscriptions[0]?.url).toBe('http://example.com/b');
    const bare = ['subscriptions:', '  - { id: a, url: "https://X.test:443", signature: { scheme: none } }'].join('\n');
    expect(parseConfigText(bare, { env: {} }).subscriptions[0]?.url).toBe('https://x.test/');
  });
});
