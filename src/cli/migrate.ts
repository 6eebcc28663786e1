import { loadConfig } from '../config/load';
import { openStore } from '../store/open';
import { configPath, parseFlags } from './usage';

/** `hookrelay migrate --config FILE`: applies storage migrations and exits. */
export async function migrateCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = parseFlags(args, { config: { type: 'string' } });
  const config = loadConfig(configPath(flags.config, env), env);
  const store = openStore(config.storage);
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  process.stdout.write('storage migrated\n');
  return 0;
}
