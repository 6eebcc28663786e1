import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { loadConfig } from '../config/load';
import { openStore } from '../store/open';
import { bindingOption } from '../store/sqlite/open-database';
import { configPath, CliError, parseFlags, UsageError } from './usage';

/**
 * `hookrelay backup --config FILE --out FILE`: a consistent copy of the SQLite store, also while a
 * relay runs on it (SQLite's online backup), checked with `PRAGMA integrity_check` before exit 0.
 */
export async function backupCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = parseFlags(args, { config: { type: 'string' }, out: { type: 'string' } });
  if (!flags.out) throw new UsageError('--out FILE is required');
  const config = loadConfig(configPath(flags.config, env), env);
  const store = openStore(config.storage);
  try {
    if (!store.capabilities.backup) throw new CliError('backup copies the SQLite store; for storage.postgres use pg_dump');
    await store.backup(flags.out);
  } finally {
    await store.close();
  }
  const copy = new Database(flags.out, { readonly: true, fileMustExist: true, ...bindingOption() });
  try {
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new CliError(`the copy at ${flags.out} failed integrity_check: ${String(check)}`);
  } finally {
    copy.close();
  }
  process.stdout.write(`backup written to ${flags.out} (${statSync(flags.out).size} bytes, integrity ok)\n`);
  return 0;
}
