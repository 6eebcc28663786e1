import { z } from 'zod';

// The `headers` a subscription adds to every request (SPEC 13). Only what can reach the receiver
// as an ordinary header is accepted: anything else either bypasses a safety check or makes every
// attempt fail, and is better refused where the operator typed it.

/** An HTTP header name (RFC 9110 token); also valid for a prefix of one. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Most headers one subscription may add. */
export const MAX_CUSTOM_HEADERS = 50;
/** Longest value of one added header, characters; receivers commonly refuse header blocks over 8-16 kb. */
export const MAX_HEADER_VALUE = 8192;

/**
 * `Host` would send the request to a virtual host behind an allowed address that the network guard
 * never judged; the others describe the connection or the body's framing, which the relay and its
 * HTTP client own (undici refuses most of them, so every attempt would fail).
 */
const FORBIDDEN: Record<string, string> = {
  host: 'the relay sends the host of the subscription URL; put the host you need in the URL',
  'content-length': 'the relay frames the body itself',
  'transfer-encoding': 'the relay frames the body itself',
  te: 'it is hop-by-hop, about the connection rather than the receiver',
  expect: 'the relay sends the body at once, it never waits for 100-continue',
  connection: 'it is hop-by-hop, about the connection rather than the receiver',
  'keep-alive': 'it is hop-by-hop, about the connection rather than the receiver',
  upgrade: 'it is hop-by-hop, about the connection rather than the receiver',
};

/** Why a subscription may not set this header, or null when it may. */
export function forbiddenHeader(name: string): string | null {
  const lower = name.toLowerCase();
  if (lower.startsWith('proxy-')) return `'${name}' may not be set by a subscription: Proxy-* headers are for proxies, not the receiver`;
  const why = FORBIDDEN[lower];
  return why === undefined ? null : `'${name}' may not be set by a subscription: ${why}`;
}

/** C0 controls (CR, LF, NUL, tab…), DEL and C1 controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** HTTP/1.1 carries header values as bytes: beyond Latin-1 the client refuses to send them. */
const BEYOND_LATIN1 = /[\u0100-\uffff]/;

/** A header name a subscription may add: a token, and not one of the forbidden names. */
export const customHeaderName = () =>
  z
    .string()
    .regex(HEADER_NAME, "header name must contain only letters, digits and !#$%&'*+.^_`|~- (no spaces or colons)")
    .superRefine((name, ctx) => {
      const why = forbiddenHeader(name);
      if (why !== null) ctx.addIssue({ code: 'custom', message: why });
    });

/** A header value that can be sent as it is. */
export const customHeaderValue = () =>
  z
    .string()
    .max(MAX_HEADER_VALUE, `must be at most ${MAX_HEADER_VALUE} characters`)
    .superRefine((value, ctx) => {
      if (CONTROL.test(value)) {
        ctx.addIssue({ code: 'custom', message: 'must not contain control characters (CR, LF, NUL, tab, DEL…)' });
      } else if (BEYOND_LATIN1.test(value)) {
        ctx.addIssue({ code: 'custom', message: 'must contain only ASCII or Latin-1 characters; encode others (e.g. percent-encoding)' });
      }
    });

/** `headers` of a subscription: at most MAX_CUSTOM_HEADERS valid names and values. */
export const customHeaders = () =>
  z.record(customHeaderName(), customHeaderValue()).refine((headers) => Object.keys(headers).length <= MAX_CUSTOM_HEADERS, {
    message: `must have at most ${MAX_CUSTOM_HEADERS} headers`,
  });
