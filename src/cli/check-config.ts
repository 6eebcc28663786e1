import { loadConfig } from '../config/load';
import { configWarnings } from '../config/warnings';
import { configPath, parseFlags } from './usage';

/** `hookrelay check-config --config FILE`: prints every problem (ConfigError), or a one-line summary and its warnings. */
export async function checkConfigCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = parseFlags(args, { config: { type: 'string' } });
  const path = configPath(flags.config, env);
  const config = loadConfig(path, env);
  const storage = config.storage.postgres ? 'postgres' : `sqlite ${config.storage.sqlite?.path}`;
  process.stdout.write(`${path}: ok (${config.subscriptions.length} subscriptions, storage: ${storage})\n`);
  // Valid but risky: said on stderr, still exit 0.
  for (const warning of configWarnings(config)) process.stderr.write(`warning: ${warning}\n`);
  return 0;
}
