/// <reference lib="dom" />
// Building DOM, for the dashboard (kit.ts) and the customer portal (src/portal/client/core.ts):
// each bundles its own copy of these few functions.

export type Child = Node | string | number | null | undefined | false | Child[];

/** An element with attributes (`on…` functions become listeners, `value` is set as a property) and children. */
export function h(tag: string, attrs: Record<string, unknown> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value as EventListener);
    else if (key === 'value') (el as HTMLInputElement).value = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Appends children, flattening arrays and skipping null, undefined and false. */
export function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces the page: everything in `root` goes, `children` come. */
export function replacePage(root: HTMLElement, children: Child[]): void {
  root.replaceChildren();
  append(root, children);
}
