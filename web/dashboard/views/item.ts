import { lineChart } from '../chart';
import { count, figure, h, money, notice, rate, replace, table, utcHour } from '../dom';
import { ItemDetailDocument, ItemsLiveDocument, type Granularity } from '../generated/graphql';
import type { View } from './context';

/** Live updates refetch the series at most this often. */
const REFETCH_MS = 1_000;

/** One item: figures, by source, and an hourly (48 h) or daily (30 days) chart that follows live updates. */
export const itemView: View = (container, { api }, itemId) => {
  const granularity = h(
    'select',
    { id: 'item-granularity', onchange: () => void load() },
    h('option', { value: 'HOUR' }, 'Hourly, last 48 hours'),
    h('option', { value: 'DAY' }, 'Daily, last 30 days'),
  );
  const body = h('div', {}, notice('loading', 'Loading item…'));
  replace(container, h('p', {}, h('a', { href: '#search' }, '← Back to search')), body);
  let removeChart = (): void => undefined;
  let stopLive = (): void => undefined;
  let refetch: ReturnType<typeof setTimeout> | undefined;

  const load = async (): Promise<void> => {
    try {
      const hourly = granularity.value === 'HOUR';
      const { auctionItem: item } = await api.query(
        ItemDetailDocument,
        {
          id: itemId!,
          granularity: granularity.value as Granularity,
          range: { last: hourly ? 'PT48H' : 'P30D' },
        },
        { partial: true },
      );
      removeChart();
      if (!item) {
        replace(body, notice('empty', 'No item with this id.'));
        return;
      }
      const analytics = item.analytics;
      const chart = h('div', {
        class: 'chart',
        id: 'item-chart',
        role: 'img',
        'aria-label': 'Impressions and clicks over time',
      });
      const points = analytics?.timeSeries ?? [];
      replace(
        body,
        h('h2', { id: 'item-title' }, item.title),
        h(
          'p',
          {},
          `${item.category} · ${item.status} · ${money(item.price.amount, item.price.currency)} · seller ${item.sellerId}`,
        ),
        !analytics
          ? notice('error', 'This key may not read this item’s figures.')
          : h(
              'div',
              {},
              h(
                'div',
                { class: 'totals' },
                figure('Impressions', count(analytics.impressions), 'item-impressions'),
                figure('Clicks', count(analytics.clicks), 'item-clicks'),
                figure('CTR', rate(analytics.ctr)),
                figure('Sessions (est.)', count(analytics.uniqueSessions)),
              ),
              h('label', { for: 'item-granularity' }, 'Period '),
              granularity,
              chart,
              // The chart's figures as a table: for screen readers, and to read exact values.
              h(
                'details',
                {},
                h('summary', {}, 'Buckets with events'),
                table(
                  `${hourly ? 'Hours' : 'Days'} (UTC) with events`,
                  ['Bucket', 'Impressions', 'Clicks'],
                  points
                    .filter((point) => point.impressions > 0 || point.clicks > 0)
                    .map((point) => [utcHour(point.bucketStart), count(point.impressions), count(point.clicks)]),
                ),
              ),
            ),
      );
      if (analytics)
        removeChart = lineChart(
          chart,
          hourly ? 'Per hour (UTC)' : 'Per day (UTC)',
          points.map((point) => point.bucketStart),
          [
            { label: 'Impressions', color: '#0550ae', values: points.map((point) => point.impressions) },
            { label: 'Clicks', color: '#cf222e', values: points.map((point) => point.clicks) },
          ],
        );
    } catch (error) {
      replace(body, notice('error', `Could not load the item: ${(error as Error).message}`));
    }
  };

  void load().then(() => {
    let first = true; // the figures as of subscribing: what was just loaded
    stopLive = api.subscribe(
      ItemsLiveDocument,
      { itemIds: [itemId!] },
      () => {
        if (first) return void (first = false);
        clearTimeout(refetch);
        refetch = setTimeout(() => void load(), REFETCH_MS);
      },
      () => undefined,
    );
  });
  return () => {
    stopLive();
    clearTimeout(refetch);
    removeChart();
  };
};
