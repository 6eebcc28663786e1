// `npm run build:binary`: dist/hookrelay, one executable file that runs with no Node.js installed.
//
// Node's single executable applications (SEA): the relay bundled as one CommonJS file (an SEA's
// main script cannot be an ES module), made into a preparation blob together with better-sqlite3's
// native addon as an asset, and injected with postject into a copy of this node binary. At start
// the executable writes the addon to a cache file and loads it (src/store/sqlite/embedded-addon.ts).
// The result runs on Linux machines like this one (same architecture, glibc at least as new).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const require = createRequire(import.meta.url);
const { buildUi } = require('./ui-build.cjs');
const { buildPortal } = require('./portal-build.cjs');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, 'dist', 'sea');
const out = join(root, 'dist', 'hookrelay');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const main = join(work, 'hookrelay.cjs');
const ui = buildUi(esbuild, root);
const portal = buildPortal(esbuild, root);
await esbuild.build({
  entryPoints: [join(root, 'src/main.ts')],
  outfile: main,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  legalComments: 'none',
  logLevel: 'warning',
  define: {
    __HOOKRELAY_BUNDLE__: 'true',
    __HOOKRELAY_SEA__: 'true',
    __HOOKRELAY_UI__: JSON.stringify(ui),
    __HOOKRELAY_PORTAL__: JSON.stringify(portal),
  },
});

const addon = join(dirname(require.resolve('better-sqlite3/package.json')), 'build/Release/better_sqlite3.node');
const blob = join(work, 'sea-prep.blob');
const seaConfig = join(work, 'sea-config.json');
writeFileSync(
  seaConfig,
  JSON.stringify({
    main,
    output: blob,
    disableExperimentalSEAWarning: true,
    // V8's code cache for the main script: compiled once here instead of at every start.
    useCodeCache: true,
    assets: { 'better_sqlite3.node': addon },
  }),
);
execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: 'inherit' });

rmSync(out, { force: true });
copyFileSync(process.execPath, out);
chmodSync(out, 0o755);
const { inject } = require('postject');
await inject(out, 'NODE_SEA_BLOB', await import('node:fs/promises').then((fs) => fs.readFile(blob)), {
  sentinelFuse: 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
});
rmSync(work, { recursive: true, force: true });
console.log(`built ${out} (${(statSync(out).size / 1e6).toFixed(1)} MB)`);
