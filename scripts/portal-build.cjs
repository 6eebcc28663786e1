// Builds the customer portal's browser assets (src/portal/client) into strings, as ui-build.cjs does
// for the dashboard: used by build.mjs and build-binary.mjs to put them inside the relay, and by
// src/portal/routes.ts when the relay runs from source (tests).
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/** @param {typeof import('esbuild')} esbuild @param {string} root the repository */
function buildPortal(esbuild, root) {
  const result = esbuild.buildSync({
    entryPoints: [join(root, 'src/portal/client/main.ts')],
    bundle: true,
    format: 'iife',
    target: 'es2020',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return { js: result.outputFiles[0].text, css: readFileSync(join(root, 'src/portal/client/style.css'), 'utf8') };
}

module.exports = { buildPortal };
