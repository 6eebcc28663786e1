// Bundles the relay into one ES module, dist/hookrelay.mjs, and copies better-sqlite3's native
// addon beside it: those two files are all the relay needs at run time (no node_modules).
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as esbuild from 'esbuild';

const require = createRequire(import.meta.url);
const { buildUi } = require('./scripts/ui-build.cjs');
const { buildPortal } = require('./scripts/portal-build.cjs');
// The dashboard's browser code and style, built first and carried inside the bundle as strings.
const ui = buildUi(esbuild, dirname(new URL(import.meta.url).pathname));
// The customer portal's (GET /portal), likewise.
const portal = buildPortal(esbuild, dirname(new URL(import.meta.url).pathname));

await esbuild.build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/hookrelay.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  define: { __HOOKRELAY_BUNDLE__: 'true', __HOOKRELAY_UI__: JSON.stringify(ui), __HOOKRELAY_PORTAL__: JSON.stringify(portal) },
  // CommonJS dependencies (pino, better-sqlite3) call require(); give the ES module a real one.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __hookrelayCreateRequire } from 'node:module';\nconst require = __hookrelayCreateRequire(import.meta.url);",
  },
});

const addon = join(dirname(require.resolve('better-sqlite3/package.json')), 'build/Release/better_sqlite3.node');
mkdirSync('dist', { recursive: true });
copyFileSync(addon, 'dist/better_sqlite3.node');
