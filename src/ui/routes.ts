import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

/** The dashboard's browser code and style, put in the bundle by build.mjs (and build-binary.mjs). */
declare const __HOOKRELAY_UI__: { js: string; css: string } | undefined;

interface Asset {
  path: string;
  body: string;
  type: string;
}

/**
 * `GET /ui`: the dashboard. The page itself needs no token; everything it shows comes from
 * /api/v1 with the admin token the user signs in with. Assets are named by their content hash and
 * cached for good; a strict Content-Security-Policy allows scripts, styles and requests from this
 * origin only, and no framing.
 */
export function uiRoutes(): Hono {
  const { js, css } = uiSources();
  const asset = (body: string, ext: string, type: string): Asset => ({
    path: `/ui/assets/app-${createHash('sha256').update(body).digest('hex').slice(0, 12)}.${ext}`,
    body,
    type,
  });
  const script = asset(js, 'js', 'text/javascript; charset=utf-8');
  const style = asset(css, 'css', 'text/css; charset=utf-8');
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hookrelay</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${style.path}">
<script defer src="${script.path}"></script>
</head>
<body>
<div id="app"><noscript>The hookrelay dashboard needs JavaScript.</noscript></div>
</body>
</html>
`;
  const app = new Hono();
  app.use('/ui/*', async (c, next) => {
    await next();
    c.header(
      'content-security-policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    c.header('x-frame-options', 'DENY');
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
  });
  app.get('/ui', (c) => c.redirect('/ui/', 301));
  app.get('/ui/', (c) => c.html(page, 200, { 'cache-control': 'no-cache' }));
  for (const a of [script, style]) {
    app.get(a.path, (c) => c.body(a.body, 200, { 'content-type': a.type, 'cache-control': 'public, max-age=31536000, immutable' }));
  }
  return app;
}

let fromSource: { js: string; css: string } | undefined;

/** Built into the bundle; run from source (tests, development), built now with esbuild. */
function uiSources(): { js: string; css: string } {
  if (typeof __HOOKRELAY_UI__ !== 'undefined') return __HOOKRELAY_UI__;
  if (!fromSource) {
    const here = dirname(fileURLToPath(import.meta.url));
    const root = join(here, '..', '..');
    const load = createRequire(import.meta.url);
    const { buildUi } = load(join(root, 'scripts/ui-build.cjs')) as {
      buildUi: (esbuild: unknown, root: string) => { js: string; css: string };
    };
    fromSource = buildUi(load('esbuild'), root);
  }
  return fromSource;
}
