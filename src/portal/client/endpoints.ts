// Endpoints: the list, adding one, and one endpoint's page (edit, enable/disable, delete, its
// signing secret, a test event, resending failed messages).
import {
  act,
  api,
  ApiError,
  button,
  type Child,
  canWrite,
  code,
  type EventType,
  eventTypes,
  field,
  h,
  type Json,
  notice,
  platform,
  when,
} from './core';
import { layout } from './layout';

/** A secret just made (creation, rotation): shown once on the next page, then forgotten. */
let freshSecret: { id: string; secret: string; rotated: boolean } | null = null;

const enc = encodeURIComponent;

/** The events an endpoint receives, in words. */
function eventsText(events: string[]): string {
  return events.includes('*') ? 'All events' : events.join(', ');
}

/** The endpoint's state in plain words. */
function stateBadge(sub: Json): HTMLElement {
  if (!sub.enabled) return h('span', { class: 'badge off' }, 'Disabled');
  if (sub.health?.failure_streak > 0) return h('span', { class: 'badge bad' }, 'Failing');
  return h('span', { class: 'badge ok' }, 'Enabled');
}

export async function renderEndpoints(): Promise<void> {
  const page = await api('GET', '/subscriptions?limit=500');
  const subs = page.data as Json[];
  const add = canWrite() ? h('a', { class: 'button primary', href: '#/endpoints/new' }, 'Add endpoint') : null;
  layout(
    'Endpoints',
    h(
      'div',
      { class: 'toolbar' },
      h('p', { class: 'lead' }, `Endpoints are URLs on your server where ${platform} sends events as they happen.`),
      add,
    ),
    subs.length === 0
      ? h(
          'div',
          { class: 'empty' },
          h('h2', {}, 'No endpoints yet'),
          h('p', {}, `Add an endpoint to receive events from ${platform} at your server. You can send it a test event right away.`),
          add,
        )
      : h(
          'ul',
          { class: 'cards', 'aria-label': 'Endpoints' },
          subs.map((s) =>
            h(
              'li',
              { class: 'card' },
              h('a', { class: 'card-title', href: `#/endpoints/${enc(s.id)}` }, s.url),
              stateBadge(s),
              s.description ? h('p', { class: 'muted' }, s.description) : null,
              h('p', { class: 'small' }, eventsText(s.events)),
            ),
          ),
        ),
  );
}

/** Event type picker: checkboxes from the catalog, or a free-text list when the relay has no catalog. */
function eventPicker(types: EventType[] | null, chosen: string[]): { element: HTMLElement; value: () => string[] } {
  if (types === null) {
    const text = h('textarea', {
      id: 'events',
      rows: 3,
      placeholder: 'invoice.paid\npayment.*',
    }) as HTMLTextAreaElement;
    text.value = chosen.includes('*') ? '' : chosen.join('\n');
    return {
      element: field('Event types', text, 'One per line; payment.* covers every payment event. Leave empty to receive all events.'),
      value: () => {
        const list = text.value
          .split(/[\s,]+/)
          .map((s) => s.trim())
          .filter(Boolean);
        return list.length === 0 ? ['*'] : list;
      },
    };
  }
  const all = h('input', { type: 'radio', name: 'scope', id: 'events-all', checked: chosen.includes('*') }) as HTMLInputElement;
  const some = h('input', { type: 'radio', name: 'scope', id: 'events-some', checked: !chosen.includes('*') }) as HTMLInputElement;
  const boxes = types.map(
    (t) => h('input', { type: 'checkbox', id: `type-${t.name}`, value: t.name, checked: chosen.includes(t.name) }) as HTMLInputElement,
  );
  const list = h(
    'div',
    { class: 'types' },
    types.map((t, i) =>
      h(
        'div',
        { class: 'type' },
        h('label', {}, boxes[i], ' ', h('code', {}, t.name), t.deprecated ? h('span', { class: 'badge off' }, 'Deprecated') : null),
        t.description ? h('p', { class: 'muted small' }, t.description) : null,
        t.example !== undefined ? h('details', {}, h('summary', {}, 'Example payload'), code(JSON.stringify(t.example, null, 2))) : null,
      ),
    ),
  );
  const sync = () => list.classList.toggle('hidden', all.checked);
  all.addEventListener('change', sync);
  some.addEventListener('change', sync);
  for (const box of boxes) box.addEventListener('change', () => (some.checked = true));
  sync();
  return {
    element: h(
      'fieldset',
      { class: 'field' },
      h('legend', {}, 'Events to send'),
      h('label', {}, all, ' All events'),
      h('label', {}, some, ' Only the events I choose'),
      list,
    ),
    value: () => (all.checked ? ['*'] : boxes.filter((b) => b.checked).map((b) => b.value)),
  };
}

/** The form of an endpoint: add (no `sub`) or edit. */
async function endpointForm(sub: Json | null, onSaved: (saved: Json) => void): Promise<HTMLElement> {
  const types = await eventTypes();
  const url = h('input', { id: 'url', type: 'url', required: true, value: sub?.url, placeholder: 'https://example.com/webhooks' });
  const description = h('input', { id: 'description', value: sub?.description ?? '', maxlength: 1024, placeholder: 'Orders service' });
  const picker = eventPicker(types, sub?.events ?? ['*']);
  const result = h('div', {});
  const form = h(
    'form',
    { class: 'form', novalidate: true },
    field('Endpoint URL', url, 'Where we send events: an HTTPS URL on your server that answers 2xx quickly.'),
    field('Description (optional)', description),
    picker.element,
    result,
    h('button', { type: 'submit', class: 'primary' }, sub ? 'Save changes' : 'Add endpoint'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const events = picker.value();
    if (events.length === 0) {
      result.replaceChildren(notice('error', 'Choose at least one event type, or All events.'));
      return;
    }
    const desc = (description as HTMLInputElement).value.trim();
    const body = {
      url: (url as HTMLInputElement).value.trim(),
      events,
      ...(sub ? { description: desc || null } : desc && { description: desc }),
    };
    void act(result, async () => {
      const saved = sub ? await api('PATCH', `/subscriptions/${enc(sub.id)}`, body) : await api('POST', '/subscriptions', body);
      onSaved(saved);
      return null;
    });
  });
  return form;
}

export async function renderNewEndpoint(): Promise<void> {
  const form = await endpointForm(null, (created) => {
    if (created.signature?.secret) freshSecret = { id: created.id, secret: created.signature.secret, rotated: false };
    location.hash = `#/endpoints/${enc(created.id)}`;
  });
  layout('Add endpoint', h('p', { class: 'lead' }, 'Tell us where to send events and which ones you want.'), form);
}

/** The secret box: shown once, right after it was made. */
function secretBox(secret: string, rotated: boolean): HTMLElement {
  const value = h('code', { class: 'secret', id: 'secret' }, secret);
  const copy = button('Copy', async () => {
    await navigator.clipboard?.writeText(secret).catch(() => undefined);
    copy.textContent = 'Copied';
  });
  return h(
    'section',
    { class: 'secret-box', 'aria-label': 'Signing secret' },
    h('h2', {}, rotated ? 'Your new signing secret' : 'Your signing secret'),
    h('p', {}, 'Copy it now and store it on your server: this is the only time we show it. Use it to verify that requests come from us.'),
    h('div', { class: 'secret-row' }, value, copy),
  );
}

export async function renderEndpoint(id: string): Promise<void> {
  let sub: Json;
  try {
    sub = await api('GET', `/subscriptions/${enc(id)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      layout(
        'Endpoint not found',
        h('p', {}, 'We could not find this endpoint. It may have been deleted.'),
        h('a', { href: '#/' }, 'Back to endpoints'),
      );
      return;
    }
    throw err;
  }
  const fresh = freshSecret?.id === id ? freshSecret : null;
  freshSecret = null;
  const area = h('div', { class: 'actions-result' });
  const reload = () => renderEndpoint(id);
  layout(
    sub.url,
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, '← Endpoints')),
    fresh ? secretBox(fresh.secret, fresh.rotated) : null,
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Status'),
      h('dd', {}, stateBadge(sub), sub.disabled_reason ? h('span', { class: 'muted small' }, ` ${sub.disabled_reason}`) : null),
      h('dt', {}, 'Events'),
      h('dd', {}, eventsText(sub.events)),
      sub.description ? [h('dt', {}, 'Description'), h('dd', {}, sub.description)] : null,
      h('dt', {}, 'Last delivered'),
      h('dd', {}, when(sub.health?.last_success_at)),
      h('dt', {}, 'Waiting to send'),
      h('dd', {}, String(sub.health?.backlog ?? 0)),
    ),
    h(
      'p',
      { class: 'links' },
      h('a', { href: `#/deliveries?endpoint=${enc(id)}` }, 'See deliveries'),
      h('a', { href: `#/verify?endpoint=${enc(id)}` }, 'Verify signatures'),
    ),
    area,
    canWrite() ? await writeSections(sub, area, reload) : null,
  );
}

async function writeSections(sub: Json, area: HTMLElement, reload: () => Promise<void>): Promise<Child> {
  const id = sub.id as string;
  const types = await eventTypes();
  const testType = h(
    'select',
    { id: 'test-type' },
    h('option', { value: '' }, 'A generic test event'),
    (types ?? []).filter((t) => t.example !== undefined).map((t) => h('option', { value: t.name }, `Example of ${t.name}`)),
  ) as HTMLSelectElement;
  const sendTest = button('Send test event', () =>
    act(area, async () => {
      const sent = await api('POST', `/subscriptions/${enc(id)}/test`, testType.value ? { event_type: testType.value } : {});
      return ['Test event sent. ', h('a', { href: `#/deliveries/${enc(sent.delivery_id)}` }, 'See its delivery')];
    }),
  );
  const toggle = button(sub.enabled ? 'Disable endpoint' : 'Enable endpoint', () =>
    act(area, async () => {
      await api('PATCH', `/subscriptions/${enc(id)}`, { enabled: !sub.enabled });
      await reload();
      return null;
    }),
  );
  let armed = false;
  const remove = button(
    'Delete endpoint',
    async () => {
      if (!armed) {
        armed = true;
        remove.textContent = 'Click again to delete for good';
        return;
      }
      await act(area, async () => {
        await api('DELETE', `/subscriptions/${enc(id)}`);
        location.hash = '#/';
        return null;
      });
    },
    { class: 'danger' },
  );
  const overlap = h(
    'select',
    { id: 'overlap' },
    h('option', { value: '1h' }, '1 hour'),
    h('option', { value: '24h', selected: true }, '24 hours'),
    h('option', { value: '7d' }, '7 days'),
  ) as HTMLSelectElement;
  const rotate = button('Roll secret', () =>
    act(area, async () => {
      const rotation = await api('POST', `/subscriptions/${enc(id)}/rotate-secret`, { keep_old_for: overlap.value });
      freshSecret = { id, secret: rotation.secret, rotated: true };
      await reload();
      return null;
    }),
  );
  const dayAgo = new Date(Date.now() - 86_400_000 - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  const since = h('input', { id: 'recover-since', type: 'datetime-local', value: dayAgo, required: true }) as HTMLInputElement;
  const recover = button('Resend failed messages', () =>
    act(area, async () => {
      if (!since.value) throw new Error('Choose the time to resend from.');
      const done = await api('POST', `/subscriptions/${enc(id)}/recover`, { since: new Date(since.value).toISOString() });
      return done.recovered === 0
        ? 'No failed messages in that time: nothing to resend.'
        : `${done.recovered} failed ${done.recovered === 1 ? 'message' : 'messages'} will be sent again now.`;
    }),
  );
  const editArea = h('div', {});
  const edit = button('Edit endpoint', async () => {
    editArea.replaceChildren(await endpointForm(sub, () => void reload()));
  });
  const previous = (sub.signature?.previous_secrets ?? []) as { expires: string }[];
  return [
    h(
      'section',
      {},
      h('h2', {}, 'Test'),
      h('p', { class: 'muted' }, 'Send an event marked as a test to this endpoint only.'),
      h('div', { class: 'row' }, testType, sendTest),
    ),
    h('section', {}, h('h2', {}, 'Settings'), h('div', { class: 'row' }, edit, toggle, remove), editArea),
    h(
      'section',
      {},
      h('h2', {}, 'Signing secret'),
      h(
        'p',
        { class: 'muted' },
        'Roll the secret if it may have leaked. The old one keeps working for the time you choose, so you can update your server first.',
      ),
      previous.length > 0
        ? h('p', { class: 'small' }, `The previous secret keeps working until ${when(previous[previous.length - 1]!.expires)}.`)
        : null,
      h('div', { class: 'row' }, h('label', { for: 'overlap' }, 'Keep the old secret working for'), overlap, rotate),
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Resend failed messages'),
      h('p', { class: 'muted' }, 'Was your server down? Send again every message that failed for good since a time you choose.'),
      h('div', { class: 'row' }, h('label', { for: 'recover-since' }, 'Failed since'), since, recover),
    ),
  ];
}
