import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { findDuplicateKey } from '../lib/json-text';
import { AppError, formatPath } from './problem';

/**
 * Deepest nesting of arrays and objects accepted in a body. The code after parsing (canonical JSON,
 * filters, JSON.stringify) recurses once per level, so a body of a few hundred kilobytes of `[`
 * would otherwise end in a stack overflow (a 500) instead of a client error.
 */
export const MAX_JSON_DEPTH = 512;

/** A JSON body: the parsed value, and the text it came from (for the parts that must stay as sent). */
export interface JsonBody {
  value: unknown;
  text: string;
}

/**
 * Reads a JSON request body, counting the bytes actually received (chunked bodies included) and
 * stopping at `limit`: 415 when not JSON, 413 over the limit, 400 when it does not parse, nests
 * deeper than MAX_JSON_DEPTH or has a duplicate key in any object.
 */
export async function readJsonBody(c: Context, limit: number): Promise<JsonBody> {
  const type = c.req.header('content-type') ?? '';
  if (!isJsonContentType(type)) {
    throw new AppError(415, 'unsupported_media_type', { detail: 'the body must be application/json' });
  }
  const declared = Number(c.req.header('content-length'));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  // The Node request when served by @hono/node-server (no Web-stream copy); the Web body otherwise.
  const stream = incoming ?? (c.req.raw.body as unknown as AsyncIterable<Uint8Array> | null);
  const text = stream ? await readLimited(stream, limit) : '';
  if (nestingDepth(text) > MAX_JSON_DEPTH) {
    throw new AppError(400, 'invalid_json', { detail: `the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels` });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AppError(400, 'invalid_json', { detail: `the body is not valid JSON: ${(err as Error).message}` });
  }
  // JSON.parse keeps only the last value of a repeated key, while the text stored and sent keeps
  // both: refused, so what is validated and filtered is what receivers get (SPEC 3).
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    const { key, position, path } = duplicate;
    throw new AppError(400, 'invalid_json', {
      detail: `the body has a duplicate key '${key}' at position ${position}; keys must be unique in every object`,
      errors: [{ path: formatPath(path), message: `duplicate key '${key}'` }],
    });
  }
  return { value, text };
}

/** Collects a body stream, failing with 413 as soon as more than `limit` bytes have arrived. */
async function readLimited(stream: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  try {
    return UTF8.decode(Buffer.concat(chunks, size));
  } catch {
    // Decoding would put U+FFFD where the bytes were: the stored event would not be what was sent.
    throw new AppError(400, 'invalid_json', { detail: 'the body is not valid UTF-8 (JSON text must be UTF-8, RFC 8259)' });
  }
}

/** Refuses bytes that are not UTF-8 instead of replacing them; a BOM is kept (and JSON.parse refuses it, as before). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Deepest bracket nesting of JSON text, ignoring brackets inside strings; one pass, no parse. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

function tooLarge(limit: number): AppError {
  // Connection: close so the client stops sending the rest of an oversized body.
  return new AppError(413, 'payload_too_large', {
    detail: `the body is larger than server.body_limit (${limit} bytes)`,
    headers: {
      connection: 'close',
    },
  });
}

/** `application/json` or a `+json` type, with or without parameters. */
export function isJsonContentType(type: string): boolean {
  return /^application\/([a-z0-9.+-]*\+)?json\b/i.test(type.trim());
}
