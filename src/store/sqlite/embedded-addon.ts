import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Name of better-sqlite3's addon among the single executable's assets (scripts/build-binary.mjs). */
export const ADDON_ASSET = 'better_sqlite3.node';

/**
 * Loads better-sqlite3's native addon from the single executable. A shared library can only be
 * loaded from a file, so the embedded copy is written to a directory named by its content hash
 * (HOOKRELAY_CACHE_DIR, default <tmpdir>/hookrelay-<uid>), atomically, and reused by every later
 * start of the same build; a file there with other content is never trusted, and the cache
 * directory must be this user's alone (another user could otherwise swap the file before it loads).
 */
export function loadEmbeddedAddon(): object {
  // The executable's own require() knows only Node's built-in modules, which is all this needs.
  const sea = createRequire(__filename)('node:sea') as { getAsset(key: string): ArrayBuffer };
  const bytes = Buffer.from(sea.getAsset(ADDON_ASSET));
  const digest = createHash('sha256').update(bytes).digest('hex');
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const base = process.env.HOOKRELAY_CACHE_DIR ?? join(tmpdir(), `hookrelay-${uid ?? 'user'}`);
  const dir = join(base, digest.slice(0, 16));
  // The file is loaded as code of this process: nobody else may be able to swap it after the check.
  for (const d of [base, dir]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    assertPrivate(d, uid);
  }
  const file = join(dir, ADDON_ASSET);
  if (!existsSync(file) || createHash('sha256').update(readFileSync(file)).digest('hex') !== digest) {
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temp, bytes, { mode: 0o500 });
    renameSync(temp, file);
  }
  const module = { exports: {} };
  process.dlopen(module, file);
  return module.exports;
}

/** A directory owned by this user that no other user can write to. */
function assertPrivate(dir: string, uid: number | undefined): void {
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0) {
    throw new Error(
      `${dir} must be a directory of this user that others cannot write to: the SQLite addon is loaded from it (remove it, or set HOOKRELAY_CACHE_DIR)`,
    );
  }
}
