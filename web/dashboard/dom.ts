/** Small DOM and formatting helpers of the dashboard (no framework: a few views, plain DOM). */

type Child = Node | string | number | null | undefined | false;

/** An element with attributes (`on*` functions become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number | boolean | ((event: Event) => void) | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, ...children);
  return element;
}

/** Appends children, skipping empty ones. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children)
    if (child !== null && child !== undefined && child !== false)
      parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

const integer = new Intl.NumberFormat('en');
const percent = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 2 });

/** 12,345 */
export const count = (value: number): string => integer.format(value);
/** 1.23 % */
export const rate = (value: number): string => percent.format(value);
/** 1.23 %, or – without a value. */
export const optionalRate = (value: number | null | undefined): string => (value == null ? '–' : rate(value));
/** €1,234.50 from minor units. */
export const money = (amount: number, currency: string): string =>
  new Intl.NumberFormat('en', { style: 'currency', currency }).format(amount / 100);
/** "2026-11-29 10:00" (UTC: the API's buckets are UTC hours). */
export const utcHour = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;

/** A status line for loading, empty and error states (announced politely to screen readers). */
export function notice(kind: 'loading' | 'empty' | 'error', text: string): HTMLElement {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** One labelled figure of a totals row; `id` goes on the value (the tests read it by id). */
export function figure(label: string, value: string, id?: string): HTMLElement {
  return h('div', { class: 'figure' }, h('span', {}, label), h('strong', id ? { id } : {}, value));
}

/** A table with a caption, header cells and rows. */
export function table(caption: string, headers: string[], rows: Child[][], numericFrom = 1): HTMLTableElement {
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...headers.map((header, index) =>
          h('th', { scope: 'col', class: index >= numericFrom ? 'num' : undefined }, header),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...rows.map((cells) =>
        h('tr', {}, ...cells.map((cell, index) => h('td', { class: index >= numericFrom ? 'num' : undefined }, cell))),
      ),
    ),
  );
}
