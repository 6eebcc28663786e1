import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Wrong command-line use: printed with the usage text, exit code 2. */
export class UsageError extends Error {}

/** Runtime failure worth one readable line (exit code 1), not a stack trace. */
export class CliError extends Error {}

export const USAGE = `usage:
  hookrelay [serve] --config FILE      run the relay (default command)
  hookrelay check-config --config FILE validate and print every problem, exit 1 if any
  hookrelay migrate --config FILE      apply storage migrations and exit
  hookrelay gen-secret [--scheme standard-webhooks|ed25519|stripe|github|hmac]   print a fresh secret
  hookrelay backup --config FILE --out FILE [--force]   consistent online copy of the SQLite store (mode 0600)
  hookrelay reencrypt --config FILE    rewrite stored secrets with storage.encryption_key (key rotation)
  hookrelay version

--config may come from HOOKRELAY_CONFIG.`;

/** Parses the flags of one subcommand strictly: an unknown flag is a UsageError. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The config path from --config or HOOKRELAY_CONFIG. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const path = flag ?? env.HOOKRELAY_CONFIG;
  if (!path) throw new UsageError('--config FILE is required (or set HOOKRELAY_CONFIG)');
  return path;
}
