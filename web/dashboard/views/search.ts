import { count, h, money, notice, rate, replace } from '../dom';
import { ItemsLiveDocument, SearchDocument, type SearchQuery, type SearchQueryVariables } from '../generated/graphql';
import type { View } from './context';

const PAGE_SIZE = 20;
type Connection = SearchQuery['auctionItems'];

/** Search state kept across visits to the view (back from a drill-down lands on the same page). */
const state: { query: string; categories: string[]; page: Pick<SearchQueryVariables, 'after' | 'before'> } = {
  query: '',
  categories: [],
  page: {},
};

/** Catalog search with facets; each result shows its live impressions, clicks and CTR (last 24 h). */
export const searchView: View = (container, { api }) => {
  const input = h('input', { id: 'search-query', type: 'search', value: state.query, autocomplete: 'off' });
  const form = h(
    'form',
    {
      role: 'search',
      onsubmit: (event: Event) => {
        event.preventDefault();
        state.query = input.value.trim();
        state.page = {};
        void load();
      },
    },
    h('label', { for: 'search-query' }, 'Search items'),
    input,
    h('button', { type: 'submit' }, 'Search'),
  );
  const facets = h('fieldset', { class: 'facets' });
  const results = h('div', { class: 'results' }, notice('loading', 'Searching…'));
  replace(container, h('h2', {}, 'Search'), form, h('div', { class: 'search-layout' }, facets, results));
  let stopLive = (): void => undefined;

  const load = async (): Promise<void> => {
    stopLive();
    replace(results, notice('loading', 'Searching…'));
    const paging = state.page.before
      ? { last: PAGE_SIZE, before: state.page.before }
      : { first: PAGE_SIZE, after: state.page.after };
    try {
      const { auctionItems } = await api.query(
        SearchDocument,
        {
          query: state.query || undefined,
          filter: state.categories.length ? { category: state.categories } : undefined,
          ...paging,
        },
        { partial: true },
      );
      renderFacets(auctionItems);
      renderResults(auctionItems);
    } catch (error) {
      replace(results, notice('error', `Search failed: ${(error as Error).message}`));
    }
  };

  const renderFacets = (connection: Connection): void => {
    const values = new Map(connection.facets.category.map((facet) => [facet.value, facet.count]));
    for (const selected of state.categories) if (!values.has(selected)) values.set(selected, 0);
    replace(
      facets,
      h('legend', {}, 'Category'),
      ...[...values].map(([value, n]) =>
        h(
          'label',
          { class: 'facet' },
          h('input', {
            type: 'checkbox',
            value,
            checked: state.categories.includes(value),
            onchange: (event: Event) => {
              const box = event.target as HTMLInputElement;
              state.categories = box.checked
                ? [...state.categories, value]
                : state.categories.filter((c) => c !== value);
              state.page = {};
              void load();
            },
          }),
          ` ${value} (${count(n)})`,
        ),
      ),
    );
  };

  const renderResults = (connection: Connection): void => {
    const rows = connection.edges.map(({ node }) =>
      h(
        'tr',
        { 'data-item': node.id },
        h('td', {}, h('a', { href: `#item/${node.id}` }, node.title)),
        h('td', {}, node.category),
        h('td', { class: 'num' }, money(node.price.amount, node.price.currency)),
        h('td', { class: 'num impressions' }, node.analytics ? count(node.analytics.impressions) : '—'),
        h('td', { class: 'num clicks' }, node.analytics ? count(node.analytics.clicks) : '—'),
        h('td', { class: 'num ctr' }, node.analytics ? rate(node.analytics.ctr) : '—'),
      ),
    );
    const { pageInfo } = connection;
    replace(
      results,
      h('p', { id: 'search-count', role: 'status' }, `${count(connection.totalCount)} items`),
      rows.length === 0
        ? notice('empty', 'No items match.')
        : h(
            'table',
            { id: 'search-results' },
            h('caption', {}, 'Results, with figures of the last 24 hours (live)'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Item', 'Category', 'Price', 'Impressions', 'Clicks', 'CTR'].map((label, index) =>
                  h('th', { scope: 'col', class: index >= 2 ? 'num' : undefined }, label),
                ),
              ),
            ),
            h('tbody', {}, ...rows),
          ),
      h(
        'nav',
        { class: 'pager', 'aria-label': 'Result pages' },
        h(
          'button',
          {
            type: 'button',
            disabled: !pageInfo.hasPreviousPage,
            onclick: () => page({ before: pageInfo.startCursor }),
          },
          'Previous',
        ),
        h(
          'button',
          { type: 'button', disabled: !pageInfo.hasNextPage, onclick: () => page({ after: pageInfo.endCursor }) },
          'Next',
        ),
      ),
    );
    // Live figures for the results whose analytics this key may read (a SELLER's own items).
    const watched = connection.edges.filter(({ node }) => node.analytics).map(({ node }) => node.id);
    if (watched.length > 0)
      stopLive = api.subscribe(
        ItemsLiveDocument,
        { itemIds: watched },
        ({ itemAnalyticsUpdated: update }) => {
          const row = results.querySelector(`tr[data-item="${update.itemId}"]`);
          if (!row) return;
          row.querySelector('.impressions')!.textContent = count(update.impressions);
          row.querySelector('.clicks')!.textContent = count(update.clicks);
          row.querySelector('.ctr')!.textContent = rate(update.ctr);
        },
        () => undefined,
      );
  };

  const page = (cursor: { after?: string | null; before?: string | null }): void => {
    state.page = cursor;
    void load();
  };

  void load();
  return () => stopLive();
};
