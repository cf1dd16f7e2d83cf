/**
 * The `/demo` page: demo items from the public `auctionItems` query, marked up for the tracker,
 * with "Load more" adding cards later (what the tracker's MutationObserver is for). The tracker is
 * loaded the way a site would: one `<script src="/tracker.js">` tag; `?flushDelayMs=…&batchSize=…
 * &userId=…` in the page URL become its data attributes. `?q=…` (the search box) searches: the
 * request names the tracker's session (`x-session-id`) and the list carries the `searchId`, so
 * that clicks on the results count for the search (searchAnalytics).
 */
import './demo.css';

interface ItemNode {
  id: string;
  title: string;
  category: string;
  price: { amount: number; currency: string };
}
interface Page {
  searchId: string | null;
  edges: Array<{ node: ItemNode }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const PAGE_SIZE = 40;
const QUERY = `query Demo($first: Int!, $after: String, $query: String) {
  auctionItems(first: $first, after: $after, query: $query, filter: { status: [ACTIVE] }) {
    searchId
    edges { node { id title category price { amount currency } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const list = document.getElementById('items') as HTMLOListElement;
const status = document.getElementById('status') as HTMLElement;
const more = document.getElementById('more') as HTMLButtonElement;
const searched = new URLSearchParams(location.search).get('q')?.trim() || undefined;
let cursor: string | null = null;

async function loadPage(tracker: Promise<void>): Promise<void> {
  more.disabled = true;
  try {
    // A search is made in the tracker's session, whose clicks are the ones credited to it.
    await tracker;
    const sessionId = searched ? await window.gavel?.sessionId().catch(() => undefined) : undefined;
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(sessionId ? { 'x-session-id': sessionId } : {}) },
      body: JSON.stringify({ query: QUERY, variables: { first: PAGE_SIZE, after: cursor, query: searched } }),
    });
    const reply = (await response.json()) as { data?: { auctionItems: Page }; errors?: Array<{ message: string }> };
    if (!reply.data) throw new Error(reply.errors?.[0]?.message ?? `HTTP ${response.status}`);
    const page = reply.data.auctionItems;
    if (page.searchId) list.dataset.gavelSearch = page.searchId;
    const offset = list.children.length;
    page.edges.forEach(({ node }, index) => list.append(card(node, offset + index)));
    cursor = page.pageInfo.endCursor;
    more.hidden = !page.pageInfo.hasNextPage;
    const found = searched ? ` for “${searched}”` : '';
    status.textContent = list.children.length ? `${list.children.length} items${found}` : `No active items${found}.`;
  } catch (error) {
    status.textContent = `Could not load items: ${(error as Error).message}`;
  } finally {
    more.disabled = false;
  }
}

function card(item: ItemNode, position: number): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.gavelItem = item.id;
  li.dataset.gavelSource = searched ? 'SEARCH' : 'HOME';
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

/** Adds the tracker's script tag; resolves once it ran (or failed: the page works without it). */
function loadTracker(): Promise<void> {
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
  const loaded = new Promise<void>((resolve) => {
    script.addEventListener('load', () => resolve());
    script.addEventListener('error', () => resolve());
  });
  document.head.append(script);
  return loaded;
}

// An experiment for the page, as a site running one would mark it (`?experiment=hero&variant=B`).
const experiment = new URLSearchParams(location.search);
if (experiment.get('experiment') && experiment.get('variant')) {
  list.dataset.gavelExperiment = experiment.get('experiment')!;
  list.dataset.gavelVariant = experiment.get('variant')!;
}
const tracker = loadTracker();
(document.getElementById('q') as HTMLInputElement).value = searched ?? '';
more.addEventListener('click', () => void loadPage(tracker));
void loadPage(tracker);
