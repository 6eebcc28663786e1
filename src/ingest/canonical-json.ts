import { createHash } from 'node:crypto';
import { decodeString, eachElement, eachMember, skipSpace, valueEnd } from '../lib/json-text';

/**
 * The content idempotency compares (SPEC 3), from JSON text that JSON.parse accepted: object keys
 * sorted at every depth (by UTF-16 code units), no whitespace, strings re-encoded from their decoded
 * value (`"\u00e9"` and `"é"` are the same), numbers exactly as written (`1.10` and `1.1` differ, and
 * 9007199254740993 is not 9007199254740992: parsing into doubles would make them equal).
 */
export function canonicalJson(text: string): string {
  // `end` is where the value just written stopped: a cursor instead of a {out, end} pair per value,
  // which on a large array of numbers was most of the time (allocation and GC).
  let end = 0;
  const write = (i: number): string => {
    const c = text.charCodeAt(i);
    if (c === 0x7b) {
      const members: [string, string][] = [];
      end = eachMember(text, i, (key, _keyAt, valueAt) => {
        members.push([key, write(valueAt)]);
        return end;
      });
      members.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      let out = '{';
      for (const [n, [key, value]] of members.entries()) out += `${n === 0 ? '' : ','}${JSON.stringify(key)}:${value}`;
      return `${out}}`;
    }
    if (c === 0x5b) {
      let out = '[';
      end = eachElement(text, i, (index, valueAt) => {
        out += index === 0 ? write(valueAt) : `,${write(valueAt)}`;
        return end;
      });
      return `${out}]`;
    }
    end = valueEnd(text, i);
    // A string is re-encoded from its value; a number, true, false or null is its own text.
    return c === 0x22 ? JSON.stringify(decodeString(text, i, end)) : text.slice(i, end);
  };
  return write(skipSpace(text, 0));
}

/** What an event's idempotency is judged on: the fields SPEC 3 names, hashed. */
export interface EventContent {
  type: string;
  /** The event's tenant (SPEC 9). Absent leaves the hash as it was before tenants. */
  tenant?: string | undefined;
  /** The JSON text of `data` as sent. */
  dataText: string;
}

/** SHA-256 (base64url) of type, tenant and canonical data: equal exactly when SPEC 3 calls two events the same content. */
export function contentHash(content: EventContent): string {
  const hash = createHash('sha256').update(content.type).update('\0').update(canonicalJson(content.dataText));
  // NUL cannot appear in a type or in canonical JSON (it is escaped there), so the parts cannot run together.
  if (content.tenant !== undefined) hash.update('\0').update(content.tenant);
  return hash.digest('base64url');
}
