// Builds the customer portal's browser assets (src/portal/client) into strings, as ui-build.cjs does
// for the dashboard: used by build.mjs and build-binary.mjs to put them inside the relay, and by
// src/portal/routes.ts when the relay runs from source (tests).
const { buildClient } = require('./ui-build.cjs');

/** @param {typeof import('esbuild')} esbuild @param {string} root the repository */
const buildPortal = (esbuild, root) => buildClient(esbuild, root, 'src/portal/client');

module.exports = { buildPortal };
