import { type ApiError } from '../api';
import { count, figure, h, notice, rate, replace, table } from '../dom';
import { LeaderboardDocument, OverviewLiveDocument, type PopularityMetric } from '../generated/graphql';
import type { View } from './context';

/** Leaderboard refreshes at most this often while the totals move. */
const LEADERBOARD_REFRESH_MS = 5_000;

/** Marketplace totals of today (live), by source and category, and the popular items of the last 24 h. */
export const overviewView: View = (container, { api, role }) => {
  if (role === 'seller') {
    replace(
      container,
      notice('empty', 'Marketplace totals need an ANALYST key; a SELLER key sees its own items under Search.'),
    );
    return () => undefined;
  }
  const totals = h('div', { class: 'totals' }, notice('loading', 'Loading today’s totals…'));
  const breakdown = h('div', { class: 'grid' });
  const metric = h(
    'select',
    { id: 'leaderboard-by', onchange: () => void refreshLeaderboard() },
    h('option', { value: 'IMPRESSIONS' }, 'Impressions'),
    h('option', { value: 'CLICKS' }, 'Clicks'),
    h('option', { value: 'CTR' }, 'CTR'),
  );
  const board = h('div', {}, notice('loading', 'Loading popular items…'));
  replace(
    container,
    h('h2', {}, 'Marketplace today (UTC)'),
    totals,
    breakdown,
    h('h2', {}, 'Popular items, last 24 hours'),
    h('label', { for: 'leaderboard-by' }, 'Rank by '),
    metric,
    board,
  );

  let lastBoard = 0;
  let boardTimer: ReturnType<typeof setTimeout> | undefined;
  const refreshLeaderboard = async (): Promise<void> => {
    lastBoard = Date.now();
    try {
      const { popularItems } = await api.query(LeaderboardDocument, { by: metric.value as PopularityMetric });
      replace(
        board,
        popularItems.length === 0
          ? notice('empty', 'No impressions in the last 24 hours yet.')
          : table(
              'Top 10 items',
              ['Item', 'Category', 'Impressions', 'Clicks', 'CTR'],
              popularItems.map((row) => [
                h('a', { href: `#item/${row.item.id}` }, row.item.title),
                row.item.category,
                count(row.impressions),
                count(row.clicks),
                rate(row.ctr),
              ]),
              2,
            ),
      );
    } catch (error) {
      replace(board, notice('error', `Could not load popular items: ${(error as Error).message}`));
    }
  };
  void refreshLeaderboard();

  const stop = api.subscribe(
    OverviewLiveDocument,
    {},
    ({ analyticsOverviewUpdated: overview }) => {
      replace(
        totals,
        figure('Impressions', count(overview.impressions), 'total-impressions'),
        figure('Clicks', count(overview.clicks), 'total-clicks'),
        figure('CTR', rate(overview.ctr), 'total-ctr'),
      );
      replace(
        breakdown,
        overview.bySource.length === 0
          ? notice('empty', 'No counted events today yet.')
          : table(
              'By source',
              ['Source', 'Impressions', 'Clicks', 'CTR'],
              overview.bySource.map((row) => [row.source, count(row.impressions), count(row.clicks), rate(row.ctr)]),
            ),
        overview.byCategory.length > 0 &&
          table(
            'By category',
            ['Category', 'Impressions', 'Clicks', 'CTR'],
            overview.byCategory
              .slice(0, 10)
              .map((row) => [row.category, count(row.impressions), count(row.clicks), rate(row.ctr)]),
          ),
      );
      // The ranking moves with the totals; refreshed on change, not more often than the limit.
      const wait = Math.max(0, lastBoard + LEADERBOARD_REFRESH_MS - Date.now());
      clearTimeout(boardTimer);
      boardTimer = setTimeout(() => void refreshLeaderboard(), wait);
    },
    (error: ApiError) =>
      replace(totals, notice('error', `Live totals stopped: ${error.message} (${error.code}). Reload to retry.`)),
  );
  return () => {
    stop();
    clearTimeout(boardTimer);
  };
};
