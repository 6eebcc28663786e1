// Deliveries: the log filtered by status, event type, endpoint and time; one delivery with every
// attempt (what we sent, what the server answered); retry it, replay its event.
import { act, api, ApiError, button, code, eventTypes, field, h, type Json, when } from './core';
import { layout } from './layout';

const enc = encodeURIComponent;

/** Statuses (SPEC 4) in the customer's words. */
export const STATUS_WORDS: Record<string, string> = {
  pending: 'Pending',
  retrying: 'Retrying',
  delivering: 'Sending',
  succeeded: 'Delivered',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

const statusBadge = (status: string) =>
  h('span', { class: `badge ${status === 'succeeded' ? 'ok' : status === 'failed' ? 'bad' : 'off'}` }, STATUS_WORDS[status] ?? status);

/** A datetime-local value (local time) from an ISO time, and back. */
const toLocal = (iso: string | null) =>
  iso ? new Date(Date.parse(iso) - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16) : '';
const fromLocal = (value: string) => (value ? new Date(value).toISOString() : '');

export async function renderDeliveries(params: URLSearchParams): Promise<void> {
  const [subs, types] = await Promise.all([api('GET', '/subscriptions?limit=500'), eventTypes()]);
  const urls = new Map<string, string>((subs.data as Json[]).map((s) => [s.id, s.url]));
  const status = h(
    'select',
    { id: 'f-status', name: 'status' },
    h('option', { value: '' }, 'Any status'),
    Object.entries(STATUS_WORDS).map(([value, words]) => h('option', { value, selected: params.get('status') === value }, words)),
  ) as HTMLSelectElement;
  const type = (
    types === null
      ? h('input', { id: 'f-type', name: 'event_type', value: params.get('event_type') ?? '', placeholder: 'invoice.paid' })
      : h(
          'select',
          { id: 'f-type', name: 'event_type' },
          h('option', { value: '' }, 'Any event type'),
          h('option', { value: 'hookrelay.test', selected: params.get('event_type') === 'hookrelay.test' }, 'Test events'),
          types.map((t) => h('option', { value: t.name, selected: params.get('event_type') === t.name }, t.name)),
        )
  ) as HTMLInputElement;
  const endpoint = h(
    'select',
    { id: 'f-endpoint', name: 'endpoint' },
    h('option', { value: '' }, 'Any endpoint'),
    [...urls].map(([id, url]) => h('option', { value: id, selected: params.get('endpoint') === id }, url)),
  ) as HTMLSelectElement;
  const since = h('input', { id: 'f-since', type: 'datetime-local', value: toLocal(params.get('since')) }) as HTMLInputElement;
  const until = h('input', { id: 'f-until', type: 'datetime-local', value: toLocal(params.get('until')) }) as HTMLInputElement;
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter deliveries' },
    field('Status', status),
    field('Event type', type),
    field('Endpoint', endpoint),
    field('From', since),
    field('To', until),
    h('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    const set = (key: string, value: string) => value && next.set(key, value);
    set('status', status.value);
    set('event_type', type.value.trim());
    set('endpoint', endpoint.value);
    set('since', fromLocal(since.value));
    set('until', fromLocal(until.value));
    location.hash = `#/deliveries?${next}`;
  });
  const query = new URLSearchParams({ limit: '50' });
  for (const [from, to] of [
    ['status', 'status'],
    ['event_type', 'event_type'],
    ['endpoint', 'subscription'],
    ['since', 'since'],
    ['until', 'until'],
  ] as const) {
    const value = params.get(from);
    if (value) query.set(to, value);
  }
  const list = h('ul', { class: 'cards', 'aria-label': 'Deliveries' });
  const more = h('div', {});
  const load = async (cursor?: string) => {
    if (cursor) query.set('cursor', cursor);
    const page = await api('GET', `/deliveries?${query}`);
    for (const d of page.data as Json[]) {
      list.appendChild(
        h(
          'li',
          { class: 'card delivery' },
          h('a', { class: 'card-title', href: `#/deliveries/${enc(d.id)}` }, d.event_type),
          statusBadge(d.status),
          h('p', { class: 'small muted' }, urls.get(d.subscription) ?? d.subscription),
          h(
            'p',
            { class: 'small' },
            when(d.created_at),
            ` · ${d.attempts} ${d.attempts === 1 ? 'attempt' : 'attempts'}`,
            d.last_status_code ? ` · your server answered ${d.last_status_code}` : d.last_error ? ` · ${d.last_error}` : '',
          ),
        ),
      );
    }
    more.replaceChildren(page.next_cursor ? button('Show more', () => load(page.next_cursor)) : '');
    if (list.childElementCount === 0) {
      list.replaceWith(
        h(
          'div',
          { class: 'empty' },
          h('h2', {}, 'No deliveries here'),
          h(
            'p',
            {},
            params.size > 0
              ? 'Nothing matches these filters. Try another status, event type or time.'
              : "Every event we send to your endpoints shows up here. Send a test event from an endpoint's page to see one.",
          ),
        ),
      );
    }
  };
  layout(
    'Deliveries',
    h('p', { class: 'lead' }, 'Every event we sent to your endpoints, with what your server answered.'),
    form,
    list,
    more,
  );
  await load();
}

export async function renderDelivery(id: string): Promise<void> {
  let d: Json;
  try {
    d = await api('GET', `/deliveries/${enc(id)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      layout('Delivery not found', h('p', {}, 'We could not find this delivery.'), h('a', { href: '#/deliveries' }, 'Back to deliveries'));
      return;
    }
    throw err;
  }
  const [sub, event] = await Promise.all([
    api('GET', `/subscriptions/${enc(d.subscription)}`).catch(() => null),
    api('GET', `/events/${enc(d.event_id)}`).catch(() => null),
  ]);
  const area = h('div', {});
  const reload = () => renderDelivery(id);
  const retry = button('Retry now', () =>
    act(area, async () => {
      await api('POST', `/deliveries/${enc(id)}/retry`);
      await reload();
      return null;
    }),
  );
  const replay = button('Replay event', () =>
    act(area, async () => {
      await api('POST', `/events/${enc(d.event_id)}/replay`, { subscriptions: [d.subscription] });
      return 'The event will be sent again as a new delivery.';
    }),
  );
  layout(
    d.event_type,
    h('p', { class: 'crumbs' }, h('a', { href: '#/deliveries' }, '← Deliveries')),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Status'),
      h(
        'dd',
        {},
        statusBadge(d.status),
        d.next_attempt_at ? h('span', { class: 'small muted' }, ` next try ${when(d.next_attempt_at)}`) : null,
      ),
      h('dt', {}, 'Endpoint'),
      h('dd', {}, sub ? h('a', { href: `#/endpoints/${enc(sub.id)}` }, sub.url) : d.subscription),
      h('dt', {}, 'Event id'),
      h('dd', {}, h('code', {}, d.event_id)),
      h('dt', {}, 'Created'),
      h('dd', {}, when(d.created_at)),
    ),
    area,
    h('div', { class: 'row' }, retry, replay),
    event ? h('details', {}, h('summary', {}, 'Event payload'), code(JSON.stringify(event.data, null, 2))) : null,
    h('h2', {}, 'Attempts'),
    (d.attempt_log as Json[]).length === 0 ? h('p', { class: 'muted' }, 'Not sent yet.') : null,
    [...(d.attempt_log as Json[])]
      .reverse()
      .map((a) =>
        h(
          'section',
          { class: 'attempt', 'aria-label': `Attempt ${a.attempt}` },
          h(
            'h3',
            {},
            `Attempt ${a.attempt} · ${when(a.started_at)} · ${a.duration_ms} ms · `,
            a.response ? `${a.response.status}` : 'no answer',
          ),
          a.error ? h('p', { class: 'error-text' }, a.error) : null,
          h('h4', {}, 'Request we sent'),
          h('p', { class: 'small' }, h('code', {}, `POST ${a.request.url}`)),
          headerList(a.request.headers),
          a.response
            ? [
                h('h4', {}, `Your server answered ${a.response.status}`),
                headerList(a.response.headers),
                a.response.body ? code(a.response.body) : h('p', { class: 'muted small' }, 'Empty body.'),
              ]
            : null,
        ),
      ),
  );
}

function headerList(headers: Record<string, string>): HTMLElement {
  return h(
    'dl',
    { class: 'headers' },
    Object.entries(headers).map(([name, value]) => [h('dt', {}, name), h('dd', {}, value)]),
  );
}
