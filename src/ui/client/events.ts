/// <reference lib="dom" />
// Events (SPEC 8): find one by id or list them by type, tenant and time; one event with its payload
// as sent, its deliveries and Replay; the relay's own operational events (SPEC 12) for the overview.

import {
  ApiError,
  act,
  api,
  apiText,
  badge,
  type Child,
  canWrite,
  clearTimers,
  enc,
  every,
  facts,
  field,
  h,
  isoOf,
  type Json,
  layout,
  link,
  localInput,
  notice,
  pager,
  params,
  rawMember,
  table,
  tenantCell,
  tenantInput,
  when,
} from './kit';
// Pure data, no server code: the same list the relay emits and the catalog shows as built in.
import { OPERATIONAL_TYPES } from '../../operational/types';

const WAITING = new Set(['pending', 'retrying', 'delivering']);

/** `#/events?type=…&tenant=…&since=…&until=…`: the lookup by id, the filters, one page of events. */
export async function eventsPage(): Promise<void> {
  const q = params();
  const id = h('input', { id: 'f-id', name: 'id', placeholder: 'evt_…', required: true }) as HTMLInputElement;
  const lookup = h(
    'form',
    {
      class: 'filters',
      onsubmit: (e: Event) => {
        e.preventDefault();
        location.hash = `#/events/${enc(id.value.trim())}`;
      },
    },
    field('f-id', 'Event id', id),
    h('button', { type: 'submit' }, 'Open'),
  );
  const type = h('input', { id: 'f-type', name: 'type', value: q.get('type') ?? '', placeholder: 'payment.completed' }) as HTMLInputElement;
  const tenant = tenantInput(q.get('tenant'));
  const since = h('input', { id: 'f-since', name: 'since', type: 'datetime-local', value: localInput(q.get('since')) }) as HTMLInputElement;
  const until = h('input', { id: 'f-until', name: 'until', type: 'datetime-local', value: localInput(q.get('until')) }) as HTMLInputElement;
  const filters = h(
    'form',
    {
      class: 'filters',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const next = new URLSearchParams();
        const set = (k: string, v: string) => v && next.set(k, v);
        set('type', type.value.trim());
        set('tenant', tenant.value.trim());
        set('since', isoOf(since.value));
        set('until', isoOf(until.value));
        location.hash = `#/events?${next}`;
      },
    },
    field('f-type', 'Event type', type, 'exact type'),
    field('f-tenant', 'Tenant id', tenant),
    field('f-since', 'Since', since),
    field('f-until', 'Until', until),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const results = h('div', { id: 'events' });
  layout('Events', lookup, filters, results);

  const query = new URLSearchParams({ limit: '50' });
  for (const k of ['type', 'tenant', 'since', 'until']) if (q.get(k)) query.set(k, q.get(k)!);
  const load = async (cursor: string | null): Promise<void> => {
    const page = await api('GET', `/events?${query}${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    results.replaceChildren(
      page.data.length === 0
        ? h('p', {}, 'No events match. Change the filters, or send an event to /ingest.')
        : table(
            ['Event', 'Type', 'Tenant', 'Deliveries at ingest', 'Received'],
            page.data.map((e: Json) => [
              link(`#/events/${enc(e.id)}`, e.id),
              h('span', {}, e.type, e.test && [' ', badge('test')]),
              tenantCell(e.tenant),
              e.deliveries,
              when(e.timestamp),
            ]),
          ),
      pager(cursor, page.next_cursor, (next) => void load(next).catch(() => undefined)),
    );
  };
  await load(null);
}

/** The deliveries of an event, each linking to its page. */
function deliveriesTable(deliveries: Json[]): HTMLElement {
  if (deliveries.length === 0) return h('p', {}, 'No deliveries: no subscription matched it. Replay it once one does.');
  return table(
    ['Delivery', 'Subscription', 'Status', 'Attempts', 'Last answer', 'Updated'],
    deliveries.map((d: Json) => [
      link(`#/deliveries/${enc(d.id)}`, d.id),
      link(`#/subscriptions/${enc(d.subscription)}`, d.subscription),
      badge(d.status),
      d.attempts,
      d.last_status_code ?? d.last_error ?? '—',
      when(d.updated_at),
    ]),
  );
}

/** An event's `data` as the API gives it: its exact JSON text, shown as text (never as markup). */
export function payload(data: string): HTMLElement {
  return h(
    'section',
    { 'aria-label': 'Payload' },
    h('h2', {}, 'Payload'),
    h('p', { class: 'hint' }, 'The event’s data exactly as it was sent (receivers get it as "data" in the envelope).'),
    h('pre', { class: 'body payload', 'aria-label': 'Event data' }, data),
  );
}

/** The event's data text: the `data` member of the API's answer as written. */
export function dataText(text: string, json: Json): string {
  return rawMember(text, 'data') ?? JSON.stringify(json.data);
}

/** `#/events/evt_…`: facts, payload, deliveries (refreshed while any is waiting), Replay. */
export async function eventPage(id: string, message?: Child): Promise<void> {
  clearTimers();
  const found = await apiText('GET', `/events/${enc(id)}`).catch((err) => {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  });
  if (!found) {
    const why = 'Check the id, or it is older than retention.succeeded / retention.failed and was deleted. ';
    return layout('Event not found', h('p', {}, `No event ${id}. ${why}`, link('#/events', 'Find events')));
  }
  const { json: e, text } = found;
  const out = h('div', { id: 'result' }, message);
  const list = h('div', { id: 'event-deliveries' }, deliveriesTable(e.deliveries));
  const replay = () => {
    const what = e.test ? 'This is a test event: the relay will refuse to replay it.' : '';
    if (!confirm(`Send event ${e.id} again, as new deliveries, to every subscription that matches it now? ${what}`)) return;
    void act(out, async () => {
      const r = await api('POST', `/events/${enc(id)}/replay`, {});
      const sent: Child =
        r.deliveries.length === 0
          ? 'Replayed: no subscription matches it now, so nothing was sent.'
          : ['Replayed as ', r.deliveries.map((d: string, i: number) => [i > 0 && ', ', link(`#/deliveries/${enc(d)}`, d)]), '.'];
      await eventPage(id, notice('ok', sent));
      return null;
    });
  };
  layout(
    `Event ${e.id}`,
    out,
    facts([
      ['Type', e.type],
      ['Tenant', tenantCell(e.tenant)],
      ['Received', when(e.timestamp)],
      ['Test event', e.test ? 'yes (sent by Send test event; never replayed)' : 'no'],
    ]),
    canWrite() && h('div', { class: 'actions' }, h('button', { type: 'button', onclick: replay }, 'Replay')),
    payload(dataText(text, e)),
    h('h2', {}, 'Deliveries'),
    list,
  );
  const waiting = (ds: Json[]) => ds.some((d) => WAITING.has(d.status));
  if (!waiting(e.deliveries)) return;
  every(
    2000,
    () =>
      void api('GET', `/events/${enc(id)}`)
        .then((fresh) => {
          list.replaceChildren(deliveriesTable(fresh.deliveries));
          if (!waiting(fresh.deliveries)) clearTimers();
        })
        .catch(() => undefined),
  );
}

/** One line on what an operational event says (its `data`, SPEC 12). */
function summary(type: string, d: Json): string {
  const min = (ms: number) => `${Math.round(ms / 60000)} min`;
  if (type.endsWith('.disabled')) return d.reason ?? '';
  if (type.endsWith('.failing')) return `${d.failure_streak} failed attempts in a row (last: ${d.last_status ?? d.last_error ?? '—'})`;
  if (type.endsWith('.recovered')) return `delivering again after ${min(d.failed_for_ms)}`;
  if (type.endsWith('.failed')) return `${d.count} ${d.count === 1 ? 'delivery' : 'deliveries'} failed for good`;
  if (type.endsWith('.delayed')) return `${d.backlog} waiting, the oldest for ${min(d.oldest_waiting_age_ms)}`;
  return '';
}

/**
 * The latest operational events, newest first: the 5 latest of each type (GET /events filters by
 * one exact type), merged.
 */
export async function operationalEvents(area: HTMLElement): Promise<void> {
  const pages = await Promise.all(OPERATIONAL_TYPES.map((t) => api('GET', `/events?type=${enc(t)}&limit=5`)));
  const latest = pages
    .flatMap((p: Json) => p.data)
    .sort((a: Json, b: Json) => Date.parse(b.timestamp) - Date.parse(a.timestamp))
    .slice(0, 10);
  area.replaceChildren(
    latest.length === 0
      ? h('p', {}, 'None yet: no subscription was disabled, failing or delayed. Subscribe to hookrelay.* to get these as webhooks too.')
      : table(
          ['When', 'What', 'Subscription', 'Tenant', 'Details'],
          latest.map((e: Json) => [
            link(`#/events/${enc(e.id)}`, when(e.timestamp)),
            e.type.replace(/^hookrelay\./, ''),
            e.data?.subscription ? link(`#/subscriptions/${enc(e.data.subscription)}`, e.data.subscription) : '—',
            tenantCell(e.tenant),
            summary(e.type, e.data ?? {}),
          ]),
        ),
  );
}
