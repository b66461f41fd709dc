/**
 * The chart benchmark's page (bench/console.ts builds it beside the console; the console never loads
 * it): draws N points (default a year of 5-minute values, 105,120) with min/max band and a mean line
 * through the console's own chart code, and reports how long it took until the frame was painted.
 */
import { createTimeChart } from './chart.tsx';

const n = Number(new URLSearchParams(location.search).get('n') ?? 105_120);
const start = Date.UTC(2025, 0, 1) / 1000;
const x = new Array<number>(n);
const mean = new Array<number>(n);
const lo = new Array<number>(n);
const hi = new Array<number>(n);
for (let i = 0; i < n; i++) {
  x[i] = start + i * 300;
  const day = Math.sin(((i % 288) / 288) * 2 * Math.PI - Math.PI / 2);
  const v = 20 + 12 * day + 3 * Math.sin(i / 2016) + ((i * 7919) % 100) / 50;
  mean[i] = v;
  lo[i] = v - 2;
  hi[i] = v + 2;
}
const el = document.createElement('div');
document.body.append(el);
const t0 = performance.now();
const chart = createTimeChart(
  el,
  {
    x,
    series: [
      { label: 'max', values: hi, color: '#9bb7d4', hidden: true },
      { label: 'min', values: lo, color: '#9bb7d4', hidden: true },
      { label: 'mean', values: mean, color: '#1f5fa8' },
    ],
    bands: [{ upper: 0, lower: 1, fill: 'rgba(31,95,168,0.15)' }],
  },
  1200,
);
// uPlot draws in a microtask after construction; the frame after that is on screen.
requestAnimationFrame(() =>
  requestAnimationFrame(() => {
    const ms = performance.now() - t0;
    document.body.dataset['result'] = JSON.stringify({ points: n, ms, drawn: chart.data[0]?.length ?? 0 });
  }),
);
