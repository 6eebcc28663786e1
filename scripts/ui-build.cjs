// Builds the dashboard's browser assets (src/ui/client) into strings: used by build.mjs and
// build-binary.mjs to put them inside the relay, and by src/ui/assets.ts when the relay runs from
// source (tests), so all three serve the same thing. CommonJS so both ESM scripts and the
// relay's createRequire can load it.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/** @param {typeof import('esbuild')} esbuild @param {string} root the repository */
function buildUi(esbuild, root) {
  const result = esbuild.buildSync({
    entryPoints: [join(root, 'src/ui/client/main.ts')],
    bundle: true,
    format: 'iife',
    target: 'es2020',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return { js: result.outputFiles[0].text, css: readFileSync(join(root, 'src/ui/client/style.css'), 'utf8') };
}

module.exports = { buildUi };
