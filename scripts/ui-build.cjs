// Builds the dashboard's browser assets (src/ui/client) into strings: used by build.mjs and
// build-binary.mjs to put them inside the relay, and by src/ui/assets.ts when the relay runs from
// source (tests), so all three serve the same thing. CommonJS so both ESM scripts and the
// relay's createRequire can load it. portal-build.cjs builds the customer portal the same way.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/**
 * One browser client (`dir` holds its main.ts and style.css) as strings: its script bundled and minified, its style as written.
 * @param {typeof import('esbuild')} esbuild @param {string} root the repository @param {string} dir relative to root
 */
function buildClient(esbuild, root, dir) {
  const result = esbuild.buildSync({
    entryPoints: [join(root, dir, 'main.ts')],
    bundle: true,
    format: 'iife',
    target: 'es2020',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return { js: result.outputFiles[0].text, css: readFileSync(join(root, dir, 'style.css'), 'utf8') };
}

/** @param {typeof import('esbuild')} esbuild @param {string} root the repository */
const buildUi = (esbuild, root) => buildClient(esbuild, root, 'src/ui/client');

module.exports = { buildClient, buildUi };
