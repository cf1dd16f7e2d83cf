import { lineChart } from '../chart';
import { count, h, notice, replace, table, utcHour } from '../dom';
import { OutcomesDocument, type Granularity, type OutcomesQuery } from '../generated/graphql';
import type { View } from './context';

const REFRESH_MS = 30_000;
type Bucket = OutcomesQuery['trackingOutcomes'][number];
const OUTCOMES: Array<{ key: keyof Omit<Bucket, 'bucketStart'>; label: string; color: string }> = [
  { key: 'accepted', label: 'Accepted', color: '#1a7f37' },
  { key: 'duplicate', label: 'Duplicate', color: '#6e7781' },
  { key: 'rejectedBot', label: 'Bot', color: '#cf222e' },
  { key: 'rateLimited', label: 'Rate-limited', color: '#9a6700' },
  { key: 'flagged', label: 'Flagged', color: '#8250df' },
  { key: 'invalid', label: 'Invalid', color: '#0550ae' },
];

/** What happened to tracked events over time: counted, and refused by each rule (fraud shows here). */
export const outcomesView: View = (container, { api, role }) => {
  if (role === 'seller') {
    replace(container, notice('empty', 'Tracking outcomes need an ANALYST key.'));
    return () => undefined;
  }
  const granularity = h(
    'select',
    { id: 'outcomes-granularity', onchange: () => void load() },
    h('option', { value: 'HOUR' }, 'Hourly, last 24 hours'),
    h('option', { value: 'DAY' }, 'Daily, last 7 days'),
  );
  const body = h('div', {}, notice('loading', 'Loading tracking outcomes…'));
  replace(
    container,
    h('h2', {}, 'Tracking outcomes'),
    h('label', { for: 'outcomes-granularity' }, 'Period '),
    granularity,
    body,
  );
  let removeChart = (): void => undefined;

  const load = async (): Promise<void> => {
    try {
      const hourly = granularity.value === 'HOUR';
      const { trackingOutcomes: buckets } = await api.query(OutcomesDocument, {
        granularity: granularity.value as Granularity,
        range: { last: hourly ? 'PT24H' : 'P7D' },
      });
      removeChart();
      const totals = OUTCOMES.map((outcome) => buckets.reduce((sum, bucket) => sum + bucket[outcome.key], 0));
      if (totals.every((total) => total === 0)) {
        replace(body, notice('empty', 'No tracked events in this period.'));
        return;
      }
      const chart = h('div', { class: 'chart', role: 'img', 'aria-label': 'Tracked events per bucket by outcome' });
      replace(
        body,
        chart,
        table(
          'Totals over the period',
          ['Outcome', 'Events'],
          OUTCOMES.map((outcome, index) => [outcome.label, count(totals[index]!)]),
        ),
      );
      removeChart = lineChart(
        chart,
        hourly ? 'Events per hour (UTC)' : 'Events per day (UTC)',
        buckets.map((bucket) => bucket.bucketStart),
        OUTCOMES.map((outcome) => ({ ...outcome, values: buckets.map((bucket) => bucket[outcome.key]) })),
      );
      chart.setAttribute('data-buckets', String(buckets.length));
      chart.title = `Last bucket: ${utcHour(buckets.at(-1)!.bucketStart)}`;
    } catch (error) {
      replace(body, notice('error', `Could not load tracking outcomes: ${(error as Error).message}`));
    }
  };
  void load();
  const timer = setInterval(() => void load(), REFRESH_MS);
  return () => {
    clearInterval(timer);
    removeChart();
  };
};
