import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Name of better-sqlite3's addon among the single executable's assets (scripts/build-binary.mjs). */
export const ADDON_ASSET = 'better_sqlite3.node';

/**
 * Loads better-sqlite3's native addon from the single executable. A shared library can only be
 * loaded from a file, so the embedded copy is written to a directory named by its content hash
 * (HOOKRELAY_CACHE_DIR, default <tmpdir>/hookrelay-<uid>), atomically, and reused by every later
 * start of the same build; a file there with other content is never trusted.
 */
export function loadEmbeddedAddon(): object {
  // The executable's own require() knows only Node's built-in modules, which is all this needs.
  const sea = createRequire(__filename)('node:sea') as { getAsset(key: string): ArrayBuffer };
  const bytes = Buffer.from(sea.getAsset(ADDON_ASSET));
  const digest = createHash('sha256').update(bytes).digest('hex');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  const dir = join(process.env.HOOKRELAY_CACHE_DIR ?? join(tmpdir(), `hookrelay-${uid}`), digest.slice(0, 16));
  const file = join(dir, ADDON_ASSET);
  if (!existsSync(file) || createHash('sha256').update(readFileSync(file)).digest('hex') !== digest) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, bytes, { mode: 0o500 });
    renameSync(temp, file);
  }
  const module = { exports: {} };
  process.dlopen(module, file);
  return module.exports;
}
