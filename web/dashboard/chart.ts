/** Time-series charts with uPlot (bundled; no CDN), sized to their container. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One line of a chart. */
export interface Series {
  label: string;
  color: string;
  values: number[];
}

/**
 * Draws `series` over `times` (ISO bucket starts) into `container`, and redraws at the container's
 * width when it changes (laptop and phone). Returns a function that removes the chart.
 */
export function lineChart(container: HTMLElement, title: string, times: string[], series: Series[]): () => void {
  const width = (): number => Math.max(container.clientWidth, 280);
  const plot = new uPlot(
    {
      title,
      width: width(),
      height: 260,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      series: [
        {},
        ...series.map((line) => ({
          label: line.label,
          stroke: line.color,
          width: 2,
          points: { show: times.length < 60 },
        })),
      ],
      axes: [{}, { values: (_u, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? String(tick) : '')) }],
    },
    [times.map((time) => Date.parse(time) / 1000), ...series.map((line) => line.values)],
    container,
  );
  const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 260 }));
  resize.observe(container);
  return () => {
    resize.disconnect();
    plot.destroy();
  };
}
