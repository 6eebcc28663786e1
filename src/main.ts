import { backupCommand } from './cli/backup';
import { checkConfigCommand } from './cli/check-config';
import { genSecretCommand } from './cli/gen-secret';
import { migrateCommand } from './cli/migrate';
import { reencryptCommand } from './cli/reencrypt';
import { serveCommand } from './cli/serve';
import { CliError, USAGE, UsageError } from './cli/usage';
import { ConfigError } from './config/errors';
import { VERSION } from './version';

type Command = (args: string[], env: NodeJS.ProcessEnv) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  serve: serveCommand,
  'check-config': checkConfigCommand,
  migrate: migrateCommand,
  'gen-secret': genSecretCommand,
  backup: backupCommand,
  reencrypt: reencryptCommand,
  version: async () => {
    process.stdout.write(`hookrelay ${VERSION}\n`);
    return 0;
  },
};

/** Composition root: picks the subcommand and turns every failure into one readable line and an exit code. */
async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (first === '--version') return COMMANDS.version!([], process.env);
  const named = first !== undefined && !first.startsWith('-');
  const command = named ? COMMANDS[first] : serveCommand;
  if (!command) throw new UsageError(`unknown command '${first}'`);
  return command(named ? rest : argv, process.env);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`hookrelay: ${err.message}\n\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 1;
    } else {
      const message = err instanceof CliError ? err.message : describe(err);
      process.stderr.write(`hookrelay: ${message}\n`);
      process.exitCode = 1;
    }
  },
);

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: string }).code;
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}
