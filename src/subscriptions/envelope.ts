// The SPEC 5 envelope, in its two forms: the exact text a receiver gets, and the value a filter
// sees. Both are built here only, so a filter always judges what the receiver will be sent.

/** An event as the envelope needs it; `data` is the stored JSON text of the event's data. */
export interface EnvelopeEvent {
  id: string;
  type: string;
  /** Ingest time, epoch ms: the envelope's `timestamp`. */
  createdAt: number;
  /** The event's tenant: `tenant` follows `timestamp`, only when there is one. */
  tenant?: string | undefined;
  /** A test or example event: `"test": true` follows, only then (SPEC 5). */
  test?: boolean | undefined;
}

/** The envelope's JSON text around the stored `data` text, which is inserted as it is (never re-serialised). */
export function envelopeText(event: EnvelopeEvent, dataText: string): string {
  const timestamp = new Date(event.createdAt).toISOString();
  const tenant = event.tenant === undefined ? '' : `,"tenant":${JSON.stringify(event.tenant)}`;
  const test = event.test ? ',"test":true' : '';
  return `{"id":${JSON.stringify(event.id)},"type":${JSON.stringify(event.type)},"timestamp":"${timestamp}"${tenant}${test},"data":${dataText}}`;
}

/** The envelope as a value, for filters: the same fields as envelopeText with `data` already parsed. */
export function envelopeValue(event: EnvelopeEvent, data: unknown): Record<string, unknown> {
  return {
    id: event.id,
    type: event.type,
    timestamp: new Date(event.createdAt).toISOString(),
    ...(event.tenant !== undefined && { tenant: event.tenant }),
    ...(event.test && { test: true }),
    data,
  };
}
