import { SECRET_GENERATORS } from '../signing';
import { parseFlags, UsageError } from './usage';

/** `hookrelay gen-secret [--scheme …]`: prints a fresh secret for a signature scheme. */
export async function genSecretCommand(args: string[]): Promise<number> {
  const flags = parseFlags(args, { scheme: { type: 'string', default: 'standard-webhooks' } });
  const generate = SECRET_GENERATORS[flags.scheme];
  if (!generate) {
    throw new UsageError(`unknown --scheme '${flags.scheme}'; expected one of: ${Object.keys(SECRET_GENERATORS).join(', ')}`);
  }
  process.stdout.write(`${generate()}\n`);
  return 0;
}
