/// <reference lib="dom" />
// One subscription's page (`#/subscriptions/{id}`): its facts and health, Send test event (a
// hookrelay.test event or a catalog type's example) and Recover (retry its failed deliveries of a
// time window).

import { act, api, canWrite, enc, facts, field, h, isoOf, type Json, layout, link, tenantCell, when } from './kit';

/** Catalog types with an example (what a test event can send): the first 100 by name, for the picker. */
async function fillTypes(list: HTMLElement): Promise<void> {
  const page = await api('GET', '/event-types?limit=100');
  list.replaceChildren(...page.data.filter((t: Json) => t.example !== undefined).map((t: Json) => h('option', { value: t.name })));
}

export async function subscriptionPage(id: string): Promise<void> {
  const s = await api('GET', `/subscriptions/${enc(id)}`);
  const out = h('div', { id: 'result' });
  const deliveries = `#/deliveries?subscription=${enc(s.id)}`;
  layout(
    `Subscription ${s.id}`,
    out,
    facts([
      ['Tenant', tenantCell(s.tenant)],
      ['Source', s.source === 'config' ? 'config file' : 'API'],
      ['URL', h('span', { class: 'url' }, s.url)],
      ['Event types', s.events.join(', ')],
      ['State', s.enabled ? 'enabled' : `disabled${s.disabled_reason ? `: ${s.disabled_reason}` : ''}`],
      ['Description', s.description ?? '—'],
      ['Last success', when(s.health.last_success_at)],
      ['Failures in a row', s.health.failure_streak],
      ['Waiting deliveries', s.health.backlog],
    ]),
    h(
      'p',
      { class: 'actions' },
      link(deliveries, 'Its deliveries'),
      link(`${deliveries}&status=failed`, 'Its failed deliveries'),
      canWrite() && s.source === 'api' && link(`#/subscriptions/${enc(s.id)}/edit`, 'Edit'),
    ),
    canWrite() && [testForm(s, out), recoverForm(s, out)],
  );
}

function testForm(s: Json, out: HTMLElement): HTMLElement {
  const types = h('datalist', { id: 'test-types' });
  const type = h('input', { id: 'test-type', name: 'event_type', list: 'test-types', placeholder: 'hookrelay.test' }) as HTMLInputElement;
  void fillTypes(types).catch(() => undefined);
  return h(
    'form',
    {
      'aria-label': 'Send a test event',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void act(out, async () => {
          const chosen = type.value.trim();
          const r = await api('POST', `/subscriptions/${enc(s.id)}/test`, chosen ? { event_type: chosen } : {});
          return [
            `Test event sent (${chosen || 'hookrelay.test'}): `,
            link(`#/deliveries/${enc(r.delivery_id)}`, r.delivery_id),
            ' · ',
            link(`#/events/${enc(r.event_id)}`, 'its event'),
          ];
        });
      },
    },
    h('h2', {}, 'Send a test event'),
    field(
      'test-type',
      'Event type',
      type,
      'optional: a catalog type with an example, sent as its data; left empty, a hookrelay.test event',
    ),
    types,
    h('button', { type: 'submit' }, 'Send test event'),
  );
}

function recoverForm(s: Json, out: HTMLElement): HTMLElement {
  const since = h('input', { id: 'recover-since', name: 'since', type: 'datetime-local', required: true }) as HTMLInputElement;
  const until = h('input', { id: 'recover-until', name: 'until', type: 'datetime-local' }) as HTMLInputElement;
  return h(
    'form',
    {
      'aria-label': 'Recover failed deliveries',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void act(out, async () => {
          const window = { since: isoOf(since.value), ...(until.value && { until: isoOf(until.value) }) };
          const r = await api('POST', `/subscriptions/${enc(s.id)}/recover`, window);
          return [
            r.recovered === 1 ? '1 failed delivery is' : `${r.recovered} failed deliveries are`,
            ' due again. ',
            link(`#/deliveries?subscription=${enc(s.id)}`, 'Follow them in its deliveries'),
          ];
        });
      },
    },
    h('h2', {}, 'Recover failed deliveries'),
    h('p', { class: 'hint' }, 'Once the receiver works again: every failed delivery to it created in this window is sent again.'),
    field('recover-since', 'Created since', since),
    field('recover-until', 'Created before', until, 'optional: left empty, now'),
    h('button', { type: 'submit' }, 'Recover'),
  );
}
