/// <reference lib="dom" />
// The event type catalog (SPEC 11): 50 types a page by name, one type with its schema and example,
// and the form that creates or replaces a type made over the API. Config-declared and built-in
// (hookrelay.*) types are read-only: they get no buttons.

import { act, api, ApiError, type Child, canWrite, enc, facts, field, h, type Json, layout, link, notice, pager, table, when } from './kit';

const SOURCES: Record<string, string> = { config: 'config file', api: 'API', builtin: 'built in' };
const typeHref = (name: string) => `#/catalog/${enc(name)}`;
const pretty = (value: unknown) => JSON.stringify(value, null, 2);

function flags(t: Json): string {
  return [t.deprecated && 'deprecated', t.internal && 'internal'].filter(Boolean).join(', ') || '—';
}

/** `#/catalog`: one page of event types (`cursor` from the previous page). */
export async function catalogPage(cursor: string | null): Promise<void> {
  const page = await api('GET', `/event-types?limit=50${cursor ? `&cursor=${enc(cursor)}` : ''}`);
  layout(
    'Event type catalog',
    canWrite() && h('p', { class: 'actions' }, link('#/new-event-type', 'New event type')),
    page.data.length === 0
      ? h('p', {}, 'No event types yet: declare them in the config file (event_types:), or add one with New event type.')
      : table(
          ['Event type', 'Source', 'Description', 'Flags'],
          page.data.map((t: Json) => [link(typeHref(t.name), t.name), SOURCES[t.source] ?? t.source, t.description ?? '—', flags(t)]),
        ),
    pager(cursor, page.next_cursor, (next) => void catalogPage(next).catch(() => undefined)),
  );
}

function jsonBlock(label: string, value: unknown, none: string): Child {
  return [
    h('h2', {}, label),
    value === undefined ? h('p', {}, none) : h('pre', { class: 'body payload', 'aria-label': label }, pretty(value)),
  ];
}

/** `#/catalog/{name}`: one type; Edit and Delete for API types. */
export async function eventTypePage(name: string): Promise<void> {
  const t = await api('GET', `/event-types/${enc(name)}`);
  const out = h('div', { id: 'result' });
  const remove = () => {
    if (!confirm(`Delete event type ${t.name}? Events already stored keep their type.`)) return;
    void act(out, async () => {
      await api('DELETE', `/event-types/${enc(t.name)}`);
      layout('Event type deleted', notice('ok', `Event type ${t.name} was deleted. `, link('#/catalog', 'Back to the catalog')));
      return null;
    });
  };
  const readOnly =
    t.source === 'config'
      ? 'Declared in the config file: change it there and reload.'
      : t.source === 'builtin'
        ? 'One of the relay’s own event types (built in): read-only.'
        : null;
  layout(
    `Event type ${t.name}`,
    out,
    facts([
      ['Source', SOURCES[t.source] ?? t.source],
      ['Description', t.description ?? '—'],
      ['Deprecated', t.deprecated ? 'yes' : 'no'],
      ['Internal', t.internal ? 'yes (hidden from tenants)' : 'no'],
      ['Updated', when(t.updated_at)],
    ]),
    readOnly
      ? h('p', { class: 'hint' }, readOnly)
      : canWrite() &&
          h(
            'div',
            { class: 'actions' },
            link(`${typeHref(t.name)}/edit`, 'Edit'),
            h('button', { type: 'button', onclick: remove }, 'Delete'),
          ),
    jsonBlock('Schema', t.schema, 'No schema: any data is accepted.'),
    jsonBlock('Example', t.example, 'No example: test events cannot send this type.'),
    h('p', {}, link(`#/events?type=${enc(t.name)}`, 'Events of this type'), ' · ', link('#/catalog', 'Back to the catalog')),
  );
}

/** The JSON in a text box; undefined when empty; an error at `path` when it is not JSON. */
function parsed(path: string, text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, {
      detail: `${path} is not JSON`,
      errors: [{ path, message: err instanceof Error ? err.message : String(err) }],
    });
  }
}

/** Create (existing null) or replace an API event type: `PUT /event-types/{name}`. */
export function eventTypeForm(existing: Json | null): void {
  const out = h('div', { id: 'result' });
  const name = h('input', {
    id: 'type-name',
    name: 'name',
    required: true,
    maxlength: 128,
    placeholder: 'invoice.paid',
  }) as HTMLInputElement;
  const description = h('input', { id: 'type-description', name: 'description', value: existing?.description ?? '' }) as HTMLInputElement;
  const area = (id: string, value: unknown) =>
    h(
      'textarea',
      { id, name: id, rows: 8, spellcheck: 'false', class: 'code' },
      value === undefined ? '' : pretty(value),
    ) as HTMLTextAreaElement;
  const schema = area('type-schema', existing?.schema);
  const example = area('type-example', existing?.example);
  const box = (id: string, on: boolean) => h('input', { id, type: 'checkbox', ...(on && { checked: true }) }) as HTMLInputElement;
  const deprecated = box('type-deprecated', existing?.deprecated ?? false);
  const internal = box('type-internal', existing?.internal ?? false);
  const typeName = () => (existing ? existing.name : name.value.trim());
  const form = h(
    'form',
    {
      onsubmit: (e: Event) => {
        e.preventDefault();
        void act(out, async () => {
          const body: Json = { deprecated: deprecated.checked, internal: internal.checked };
          if (description.value.trim()) body.description = description.value.trim();
          const s = parsed('schema', schema.value);
          const x = parsed('example', example.value);
          if (s !== undefined) body.schema = s;
          if (x !== undefined) body.example = x;
          await api('PUT', `/event-types/${enc(typeName())}`, body);
          location.hash = typeHref(typeName());
          return null;
        });
      },
    },
    existing ? null : field('type-name', 'Name', name, 'letters, digits, . _ : - (types starting hookrelay. are the relay’s own)'),
    field('type-description', 'Description', description),
    field('type-schema', 'Schema (JSON)', schema, 'optional: JSON Schema 2020-12 that data must match at ingest'),
    field('type-example', 'Example (JSON)', example, 'optional: example data, sent by test events; it must match the schema'),
    h('div', { class: 'field inline' }, deprecated, h('label', { for: 'type-deprecated' }, 'Deprecated')),
    h('div', { class: 'field inline' }, internal, h('label', { for: 'type-internal' }, 'Internal (hidden from tenants)')),
    h('button', { type: 'submit' }, 'Save event type'),
  );
  layout(
    existing ? `Edit event type ${existing.name}` : 'New event type',
    out,
    canWrite() ? form : notice('error', 'This token is read-only.'),
    h('p', {}, link(existing ? typeHref(existing.name) : '#/catalog', existing ? `Back to ${existing.name}` : 'Back to the catalog')),
  );
}
