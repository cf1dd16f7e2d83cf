import { type ApiError } from '../api';
import { count, figure, h, notice, optionalRate, replace, table } from '../dom';
import { SearchInsightsLiveDocument, type InsightQueryFragment } from '../generated/graphql';
import type { View } from './context';

/** Ranges the view offers (ISO 8601 durations, whole UTC days on the server). */
const RANGES = [
  ['P1D', 'Today and yesterday'],
  ['P7D', 'Last 7 days'],
  ['P30D', 'Last 30 days'],
] as const;

/** The range kept across visits to the view. */
const state: { range: string } = { range: 'P7D' };

const position = (value: number | null | undefined): string => (value == null ? '–' : (value + 1).toFixed(1));
/** The query as searched: its words, and the categories it was searched within. */
const searched = (row: InsightQueryFragment): string =>
  row.filter?.category?.length ? `${row.query} (in ${row.filter.category.join(', ')})` : row.query;

/**
 * Search insights (ANALYST keys): what buyers searched for, what found nothing (demand the
 * catalog does not meet) and what found results nobody clicked, live over `searchAnalyticsUpdated`.
 */
export const insightsView: View = (container, { api, role }) => {
  if (role === 'seller') {
    replace(
      container,
      notice('empty', 'Search insights are every buyer’s searches for every seller’s lots: they need an ANALYST key.'),
    );
    return () => undefined;
  }
  const select = h(
    'select',
    { id: 'insights-range', onchange: () => watch() },
    ...RANGES.map(([value, label]) => h('option', { value, selected: value === state.range }, label)),
  );
  const totals = h('div', { class: 'totals' }, notice('loading', 'Loading search insights…'));
  const lists = h('div', { class: 'grid' });
  const positions = h('div', {});
  replace(
    container,
    h('h2', {}, 'Search insights'),
    h('label', { for: 'insights-range' }, 'Range '),
    select,
    totals,
    lists,
    positions,
  );

  let stop = (): void => undefined;
  const watch = (): void => {
    stop();
    state.range = select.value;
    replace(totals, notice('loading', 'Loading search insights…'));
    stop = api.subscribe(
      SearchInsightsLiveDocument,
      { range: { last: state.range } },
      ({ searchAnalyticsUpdated: insights }) => {
        replace(
          totals,
          figure('Searches', count(insights.searches), 'insights-searches'),
          figure('Found nothing', count(insights.zeroResultSearches), 'insights-zero'),
          figure('Clicks', count(insights.clicks), 'insights-clicks'),
          figure('Click-through', optionalRate(insights.clickThroughRate), 'insights-ctr'),
        );
        if (insights.searches === 0) {
          replace(lists, notice('empty', 'No recorded searches in this range yet.'));
          replace(positions);
          return;
        }
        replace(
          lists,
          table(
            'Top queries',
            ['Query', 'Searches', 'CTR', 'Corrected CTR', 'Mean click position'],
            insights.topQueries.map((row) => [
              searched(row),
              count(row.searches),
              optionalRate(row.clickThroughRate),
              optionalRate(row.correctedClickThroughRate),
              position(row.meanClickPosition),
            ]),
          ),
          insights.zeroResultQueries.length === 0
            ? notice('empty', 'Every search found something.')
            : table(
                'Found nothing (demand for sellers)',
                ['Query', 'Searches', 'Found nothing'],
                insights.zeroResultQueries.map((row) => [searched(row), count(row.searches), count(row.zeroResults)]),
              ),
          insights.noClickQueries.length === 0
            ? notice('empty', 'Every search that found results got a click.')
            : table(
                'Results nobody clicked',
                ['Query', 'Searches', 'Without a click'],
                insights.noClickQueries.map((row) => [
                  searched(row),
                  count(row.searches),
                  count(row.unclickedSearches),
                ]),
              ),
        );
        replace(
          positions,
          table(
            'Clicks by position (position bias)',
            ['Position', 'Shown', 'Clicks', 'CTR', 'Relative to the first'],
            insights.positions.map((row) => [
              String(row.position + 1),
              count(row.shown),
              count(row.clicks),
              optionalRate(row.clickThroughRate),
              optionalRate(row.relativeClickThroughRate),
            ]),
          ),
        );
      },
      (error: ApiError) =>
        replace(totals, notice('error', `Search insights stopped: ${error.message} (${error.code}). Reload to retry.`)),
    );
  };
  watch();
  return () => stop();
};
