import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Paths redacted from every log line, so a secret logged by mistake never reaches the log store:
 * signing secrets (also inside a subscription's `signature`, and old ones kept for rotation), bearer
 * tokens, and credentials in request headers. pino has no recursive wildcard, so each depth a
 * secret can sit at is listed.
 */
export const REDACT_PATHS = [
  'secret',
  '*.secret',
  '*.*.secret',
  'signature.secret',
  '*.signature.secret',
  'previous_secrets',
  '*.previous_secrets',
  '*.*.previous_secrets',
  'secrets',
  '*.secrets',
  'token',
  '*.token',
  '*.*.token',
  'tokens',
  '*.tokens',
  'ingest_tokens',
  '*.ingest_tokens',
  '*.*.ingest_tokens',
  'admin_tokens',
  '*.admin_tokens',
  '*.*.admin_tokens',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
  'headers["proxy-authorization"]',
  '*.headers["proxy-authorization"]',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
];

/**
 * JSON logs to stdout (pino), or to `destination` (tests). `pretty` renders a readable line with a
 * small built-in formatter instead of pino-pretty, so no dev-only dependency is bundled.
 */
export function createLogger(
  opts: { level: string; format?: 'json' | 'pretty' | undefined },
  destination?: pino.DestinationStream,
): Logger {
  const pretty = opts.format === 'pretty' || (opts.format === undefined && process.stdout.isTTY === true);
  const options: pino.LoggerOptions = {
    level: opts.level,
    base: undefined,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // "level":"info", as most log tooling expects, rather than pino's numbers.
    formatters: { level: (label) => ({ level: label }) },
  };
  if (destination) return pino(options, destination);
  return pretty ? pino(options, prettyStream()) : pino(options);
}

function prettyStream(): pino.DestinationStream {
  return {
    write(line: string) {
      const { level, time, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const extra = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      process.stdout.write(`${String(time).slice(11, 23)} ${String(level).toUpperCase()} ${msg ?? ''} ${extra}\n`);
    },
  };
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = pino({ level: 'silent' });
