import { ed25519PublicKey, SECRET_GENERATORS } from '../signing';
import { parseFlags, UsageError } from './usage';

/**
 * `hookrelay gen-secret [--scheme …]`: prints a fresh secret for a signature scheme; default
 * standard-webhooks. stdout holds only the secret, so `$(hookrelay gen-secret …)` captures it
 * exactly; for ed25519 the public key receivers need goes to stderr as `# public key: whpk_…`.
 */
export async function genSecretCommand(args: string[]): Promise<number> {
  const flags = parseFlags(args, { scheme: { type: 'string', default: 'standard-webhooks' } });
  const generate = SECRET_GENERATORS[flags.scheme];
  if (!generate) {
    throw new UsageError(`unknown --scheme '${flags.scheme}'; expected one of: ${Object.keys(SECRET_GENERATORS).join(', ')}`);
  }
  const secret = generate();
  process.stdout.write(`${secret}\n`);
  if (flags.scheme === 'ed25519') process.stderr.write(`# public key: ${ed25519PublicKey(secret)}\n`);
  return 0;
}
