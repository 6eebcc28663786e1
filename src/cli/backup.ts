import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from '../config/load';
import { openStore } from '../store/open';
import { bindingOption } from '../store/sqlite/open-database';
import { configPath, CliError, parseFlags, UsageError } from './usage';

/**
 * `hookrelay backup --config FILE --out FILE [--force]`: a consistent copy of the SQLite store, also
 * while a relay runs on it (SQLite's online backup), mode 0600, checked with `PRAGMA
 * integrity_check` before exit 0. An existing FILE is refused unless --force (which replaces it,
 * a symlink included, never its target); the directory must exist.
 */
export async function backupCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = parseFlags(args, { config: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' } });
  if (!flags.out) throw new UsageError('--out FILE is required');
  const out = flags.out;
  const config = loadConfig(configPath(flags.config, env), env);
  if (!isDirectory(dirname(resolve(out)))) throw new CliError(`the directory of ${out} does not exist; create it first`);
  const store = openStore(config.storage);
  try {
    if (!store.capabilities.backup) throw new CliError('backup copies the SQLite store; for storage.postgres use pg_dump');
    await store.backup(out, { overwrite: flags.force === true });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EEXIST') throw new CliError(`${out} exists; pass --force to replace it`);
    throw err;
  } finally {
    await store.close();
  }
  const copy = new Database(out, { readonly: true, fileMustExist: true, ...bindingOption() });
  try {
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new CliError(`the copy at ${out} failed integrity_check: ${String(check)}`);
  } finally {
    copy.close();
  }
  process.stdout.write(`backup written to ${out} (${statSync(out).size} bytes, integrity ok)\n`);
  return 0;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
