import type { ClaimedDelivery } from '../store/types';
import { encryptBody } from './encrypt-body';
import type { Target } from './registry';

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface BuildOptions {
  /** Prefix of the relay's own headers, e.g. `X-Hookrelay-`. */
  headerPrefix: string;
  userAgent: string;
  /** `<prefix>Delivery`: unique to this attempt. */
  attemptId: string;
  attempt: number;
  now: number;
}

/**
 * The body and headers of one attempt (SPEC 5). The body is assembled from the stored JSON text
 * of `data` without parsing it again, so it is byte-for-byte what was stored.
 */
export function buildRequest(target: Target, delivery: ClaimedDelivery, opts: BuildOptions): OutgoingRequest {
  const event = delivery.event;
  const timestampIso = new Date(event.createdAt).toISOString();
  const plain =
    target.payload === 'data'
      ? event.data
      : `{"id":${JSON.stringify(event.id)},"type":${JSON.stringify(event.type)},"timestamp":"${timestampIso}","data":${event.data}}`;
  // Encryption wraps the body first; the signature then covers what is actually sent.
  const body = target.encryptionKey
    ? encryptBody(plain, target.encryptionKey, { id: event.id, type: event.type, timestamp: timestampIso })
    : plain;
  const timestamp = Math.floor(opts.now / 1000);
  const headers: Record<string, string> = {
    ...lowerKeys(target.headers),
    'content-type': 'application/json',
    'user-agent': opts.userAgent,
    'webhook-id': event.id,
    'webhook-timestamp': String(timestamp),
    [`${opts.headerPrefix}Event`.toLowerCase()]: event.type,
    [`${opts.headerPrefix}Delivery`.toLowerCase()]: opts.attemptId,
    [`${opts.headerPrefix}Attempt`.toLowerCase()]: String(opts.attempt),
  };
  const signature = target.signer({ msgId: event.id, timestamp, body, secrets: target.secretsAt(opts.now) });
  return { url: target.url, headers: { ...headers, ...lowerKeys(signature) }, body };
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) out[key.toLowerCase()] = value;
  return out;
}

/** Header names whose values are credentials for the receiver: kept out of attempt records. */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie|x-api-key)$|token|secret|password|api-key/i;

/**
 * The request headers as recorded for the admin API: credentials a subscription adds for its
 * receiver (`headers: {Authorization: …}`) become `[redacted]`. Signatures stay: they are not secrets.
 */
export function recordedHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = CREDENTIAL_HEADER.test(name) ? '[redacted]' : value;
  return out;
}
