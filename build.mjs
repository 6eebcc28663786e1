// Bundles the relay into one ES module, dist/hookrelay.mjs. better-sqlite3 stays external: its
// native addon (and the small JS that loads it) is the only thing that must sit beside the bundle.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/hookrelay.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: ['better-sqlite3'],
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies (pino) call require(); give the ES module a real one.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __hookrelayCreateRequire } from 'node:module';\nconst require = __hookrelayCreateRequire(import.meta.url);",
  },
});
