// Where each event's `data` sits in an ingest request's text. It is stored and sent as those exact
// characters (SPEC 5): numbers such as 9007199254740993 or 1.10, escapes and whitespace inside it
// survive, which parsing and serialising again would not guarantee.

import { eachElement, eachMember, memberText, skipSpace, valueEnd } from '../lib/json-text';

/** The text of `data` in a `POST /ingest` body that passed the schema (an object), or undefined without one. */
export function eventDataText(body: string): string | undefined {
  return memberText(body, skipSpace(body, 0), 'data');
}

/** The text of each `events[i].data` in a `POST /ingest/batch` body that passed the schema, in order. */
export function batchDataTexts(body: string): (string | undefined)[] {
  const texts: (string | undefined)[] = [];
  eachMember(body, skipSpace(body, 0), (key, _keyAt, valueAt) => {
    if (key !== 'events') return valueEnd(body, valueAt);
    return eachElement(body, valueAt, (_index, eventAt) => {
      texts.push(memberText(body, eventAt, 'data'));
      return valueEnd(body, eventAt);
    });
  });
  return texts;
}
