import type { ClaimedDelivery } from '../store/types';
import { envelopeText } from '../subscriptions/envelope';
import type { Target } from '../subscriptions/target';
import { encryptBody } from './encrypt-body';

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** An attempt's request as built, with what its record needs to know. */
export interface BuiltRequest extends OutgoingRequest {
  /** Lower-case names of the headers whose value is the subscription's own (`headers:`), not the relay's: the ones attempt records redact. */
  customHeaders: string[];
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
export function buildRequest(target: Target, delivery: ClaimedDelivery, opts: BuildOptions): BuiltRequest {
  const event = delivery.event;
  const timestampIso = new Date(event.createdAt).toISOString();
  const plain = target.payload === 'data' ? event.data : envelopeText(event, event.data);
  // Encryption wraps the body first; the signature then covers what is actually sent.
  const body = target.encryptionKey
    ? encryptBody(plain, target.encryptionKey, { id: event.id, type: event.type, timestamp: timestampIso })
    : plain;
  const timestamp = Math.floor(opts.now / 1000);
  const custom = lowerKeys(target.headers);
  const own: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': opts.userAgent,
    'webhook-id': event.id,
    'webhook-timestamp': String(timestamp),
    [`${opts.headerPrefix}Event`.toLowerCase()]: event.type,
    [`${opts.headerPrefix}Delivery`.toLowerCase()]: opts.attemptId,
    [`${opts.headerPrefix}Attempt`.toLowerCase()]: String(opts.attempt),
    // Whatever the payload (data alone, encrypted): the receiver can tell whose event it is.
    ...(event.tenant !== undefined && { [`${opts.headerPrefix}Tenant`.toLowerCase()]: event.tenant }),
    ...(event.test && { [`${opts.headerPrefix}Test`.toLowerCase()]: 'true' }),
  };
  const signature = target.signer({ msgId: event.id, timestamp, body, secrets: target.secretsAt(opts.now) });
  // The relay's own headers win on a clash.
  Object.assign(own, lowerKeys(signature));
  const customHeaders = Object.keys(custom).filter((name) => !Object.hasOwn(own, name));
  return { url: target.url, headers: { ...custom, ...own }, body, customHeaders };
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) out[key.toLowerCase()] = value;
  return out;
}
