import { loadConfig } from '../config/load';
import { systemClock } from '../lib/clock';
import { openBackend, secretBoxOf } from '../store/open';
import { resealSpecs } from '../store/sealed-specs';
import { configPath, CliError, parseFlags } from './usage';

/**
 * `hookrelay reencrypt --config FILE`: rewrites the secrets of every stored API subscription with
 * `storage.encryption_key` (in clear when it is unset), reading them with it or with any of
 * `storage.previous_encryption_keys`: the last step of a key rotation, after which the previous
 * keys are needed only for older backups. Rows it cannot decrypt are named on stderr and left as
 * they are (exit 1).
 */
export async function reencryptCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = parseFlags(args, { config: { type: 'string' } });
  const config = loadConfig(configPath(flags.config, env), env);
  const box = secretBoxOf(config.storage);
  const store = openBackend(config.storage);
  let report: Awaited<ReturnType<typeof resealSpecs>>;
  try {
    if (!(await store.ready())) throw new CliError('storage is not migrated (or not reachable); run hookrelay migrate first');
    report = await resealSpecs(store, box, systemClock.now());
  } finally {
    await store.close();
  }
  const how = box.sealing ? 'encrypted with storage.encryption_key' : 'stored in clear (storage.encryption_key is not set)';
  process.stdout.write(`${report.rewritten.length} subscription(s) rewritten, ${report.current} already ${how}\n`);
  for (const { id, reason } of report.unreadable) process.stderr.write(`hookrelay: subscription '${id}' left as it is: ${reason}\n`);
  return report.unreadable.length === 0 ? 0 : 1;
}
