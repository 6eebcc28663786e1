import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type MiddlewareHandler } from 'hono';
import type { Config } from '../config/schema';

/** The portal's browser code and style, put in the bundle by build.mjs (and build-binary.mjs). */
declare const __HOOKRELAY_PORTAL__: { js: string; css: string } | undefined;

interface Asset {
  path: string;
  body: string;
  type: string;
}

type PortalConfig = Config['portal'];

/**
 * `GET /portal`: the customer portal (SPEC 10). The page needs no credential: it reads the link
 * token from its address (`#hrl_…`), trades it for a session on /api/v1/portal/sessions and talks
 * to /api/v1 with that session only. Assets are named by content hash and cached for good; every
 * URL the page uses is relative, so the relay may sit under a path behind a proxy. The CSP is
 * the dashboard's, except that `frame-ancestors` is `portal.frame_ancestors` (none by default) and
 * `img-src` adds the branding logo's origin. Branding is read per request, so a reload applies.
 */
export function portalRoutes(config: () => Config): Hono {
  const { js, css } = portalSources();
  const asset = (body: string, ext: string, type: string): Asset => ({
    path: `/portal/assets/portal-${createHash('sha256').update(body).digest('hex').slice(0, 12)}.${ext}`,
    body,
    type,
  });
  const script = asset(js, 'js', 'text/javascript; charset=utf-8');
  const style = asset(css, 'css', 'text/css; charset=utf-8');
  const app = new Hono();
  app.use('/portal', headers(config));
  app.use('/portal/*', headers(config));
  app.get('/portal', (c) => c.html(page(config().portal, script.path, style.path), 200, { 'cache-control': 'no-cache' }));
  // The accent color as a stylesheet of its own (no inline style under the CSP), read per request.
  app.get('/portal/theme.css', (c) =>
    c.body(`:root { --accent: ${config().portal.branding.accent_color}; }\n`, 200, {
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'no-cache',
    }),
  );
  for (const a of [script, style]) {
    app.get(a.path, (c) => c.body(a.body, 200, { 'content-type': a.type, 'cache-control': 'public, max-age=31536000, immutable' }));
  }
  return app;
}

/** The portal's security headers on the page and its assets, read from the config per request. */
function headers(config: () => Config): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const { portal } = config();
    c.header('content-security-policy', contentSecurityPolicy(portal));
    // Browsers without CSP frame-ancestors: no framing at all unless some origin is allowed.
    if (portal.frame_ancestors.length === 0) c.header('x-frame-options', 'DENY');
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
  };
}

/** The portal's CSP: the dashboard's, framed only by `frame_ancestors`, with the logo's origin as the only outside image. */
export function contentSecurityPolicy(portal: PortalConfig): string {
  const logo = portal.branding.logo_url;
  const images = ["'self'", 'data:', ...(logo ? [new URL(logo).origin] : [])].join(' ');
  const ancestors = portal.frame_ancestors.length === 0 ? "'none'" : portal.frame_ancestors.join(' ');
  return `default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src ${images}; form-action 'self'; base-uri 'none'; frame-ancestors ${ancestors}`;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/** The page: branding as data attributes the script reads (no inline script or style under the CSP). */
function page(portal: PortalConfig, scriptPath: string, stylePath: string): string {
  const { name, logo_url: logo } = portal.branding;
  // Relative paths: /portal's assets sit under portal/, the API under api/v1, wherever the relay is mounted.
  const rel = (path: string) => path.slice(1);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(name ? `Webhooks · ${name}` : 'Webhooks')}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${rel(stylePath)}">
<link rel="stylesheet" href="portal/theme.css">
<script defer src="${rel(scriptPath)}"></script>
</head>
<body data-platform="${escapeHtml(name ?? '')}" data-logo="${escapeHtml(logo ?? '')}">
<div id="app"><noscript>This page needs JavaScript.</noscript></div>
</body>
</html>
`;
}

let fromSource: { js: string; css: string } | undefined;

/** Built into the bundle; run from source (tests, development), built now with esbuild. */
function portalSources(): { js: string; css: string } {
  if (typeof __HOOKRELAY_PORTAL__ !== 'undefined') return __HOOKRELAY_PORTAL__;
  if (!fromSource) {
    const here = dirname(fileURLToPath(import.meta.url));
    const root = join(here, '..', '..');
    const load = createRequire(import.meta.url);
    const { buildPortal } = load(join(root, 'scripts/portal-build.cjs')) as {
      buildPortal: (esbuild: unknown, root: string) => { js: string; css: string };
    };
    fromSource = buildPortal(load('esbuild'), root);
  }
  return fromSource;
}
