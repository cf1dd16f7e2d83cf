/**
 * The `/demo` page: demo items from the public `auctionItems` query, marked up for the tracker,
 * with "Load more" adding cards later (what the tracker's MutationObserver is for). The tracker is
 * loaded the way a site would: one `<script src="/tracker.js">` tag; `?flushDelayMs=…&batchSize=…
 * &userId=…` in the page URL become its data attributes.
 */
import './demo.css';

interface ItemNode {
  id: string;
  title: string;
  category: string;
  price: { amount: number; currency: string };
}
interface Page {
  edges: Array<{ node: ItemNode }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const PAGE_SIZE = 40;
const QUERY = `query Demo($first: Int!, $after: String) {
  auctionItems(first: $first, after: $after, filter: { status: [ACTIVE] }) {
    edges { node { id title category price { amount currency } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const list = document.getElementById('items') as HTMLOListElement;
const status = document.getElementById('status') as HTMLElement;
const more = document.getElementById('more') as HTMLButtonElement;
let cursor: string | null = null;

async function loadPage(): Promise<void> {
  more.disabled = true;
  try {
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: QUERY, variables: { first: PAGE_SIZE, after: cursor } }),
    });
    const reply = (await response.json()) as { data?: { auctionItems: Page }; errors?: Array<{ message: string }> };
    if (!reply.data) throw new Error(reply.errors?.[0]?.message ?? `HTTP ${response.status}`);
    const page = reply.data.auctionItems;
    const offset = list.children.length;
    page.edges.forEach(({ node }, index) => list.append(card(node, offset + index)));
    cursor = page.pageInfo.endCursor;
    more.hidden = !page.pageInfo.hasNextPage;
    status.textContent = list.children.length ? `${list.children.length} items` : 'No active items.';
  } catch (error) {
    status.textContent = `Could not load items: ${(error as Error).message}`;
  } finally {
    more.disabled = false;
  }
}

function card(item: ItemNode, position: number): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.gavelItem = item.id;
  li.dataset.gavelSource = 'HOME';
  li.dataset.gavelPosition = String(position);
  li.tabIndex = 0;
  const title = document.createElement('h2');
  title.textContent = item.title;
  const price = document.createElement('p');
  price.className = 'price';
  price.textContent = new Intl.NumberFormat('en', { style: 'currency', currency: item.price.currency }).format(
    item.price.amount / 100,
  );
  const category = document.createElement('p');
  category.className = 'category';
  category.textContent = item.category;
  li.append(title, price, category);
  return li;
}

function loadTracker(): void {
  const script = document.createElement('script');
  script.src = '/tracker.js';
  const params = new URLSearchParams(location.search);
  for (const [param, attribute] of [
    ['flushDelayMs', 'flushDelayMs'],
    ['batchSize', 'batchSize'],
    ['userId', 'userId'],
  ] as const) {
    const value = params.get(param);
    if (value) script.dataset[attribute] = value;
  }
  document.head.append(script);
}

more.addEventListener('click', () => void loadPage());
loadTracker();
void loadPage();
