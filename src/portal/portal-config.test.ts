import { describe, expect, it } from 'vitest';
import { ConfigError, type Problem } from '../config/errors';
import { parseConfigText } from '../config/load';
import { contentSecurityPolicy } from './routes';

/* The portal's config keys (SPEC 10) as an operator writes them, and the CSP they make. */

const parse = (text: string) => parseConfigText(text, { env: {}, fileName: 'hookrelay.yaml' });

function problemsOf(text: string): Problem[] {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('config was accepted');
}

describe('portal config', () => {
  it('defaults to no public_url, no framing and the default accent', () => {
    const config = parse('{}');
    expect(config.server.public_url).toBeUndefined();
    expect(config.portal).toEqual({ frame_ancestors: [], branding: { accent_color: '#4f46e5' } });
    expect(contentSecurityPolicy(config.portal)).toContain("frame-ancestors 'none'");
    expect(contentSecurityPolicy(config.portal)).toContain("img-src 'self' data:;");
  });

  it('takes public_url without its trailing slash, and branding that adds only the logo origin to img-src', () => {
    const config = parse(`server: { public_url: "https://hooks.example.com/relay/" }
portal:
  frame_ancestors: ["https://app.example.com", "http://localhost:3000"]
  branding: { name: Example Pay, logo_url: "https://cdn.example.com/brand/logo.svg", accent_color: "#0F766E" }
`);
    expect(config.server.public_url).toBe('https://hooks.example.com/relay');
    const csp = contentSecurityPolicy(config.portal);
    expect(csp).toContain('frame-ancestors https://app.example.com http://localhost:3000');
    expect(csp).toContain("img-src 'self' data: https://cdn.example.com;");
    expect(csp).toContain("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'");
  });

  it('names each wrong key by its path', () => {
    const problems = problemsOf(`server: { public_url: "ftp://x.example.com" }
portal:
  frame_ancestors: ["https://app.example.com/settings", "*"]
  branding: { logo_url: "javascript:alert(1)", accent_color: "teal", colour: red }
`);
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'server.public_url',
        'portal.frame_ancestors[0]',
        'portal.frame_ancestors[1]',
        'portal.branding.logo_url',
        'portal.branding.accent_color',
      ]),
    );
    expect(problems.find((p) => p.path === 'portal.branding.accent_color')?.message).toContain('#rrggbb');
  });
});
