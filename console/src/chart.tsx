/**
 * Time-series charts on uPlot (canvas; a year of 5-minute points draws in well under a second):
 * lines, filled bands between two series (forecast intervals), shaded spans on the time axis
 * (anomalies) and horizontal limit lines (water-quality limits). Drag to zoom; `onZoom` hears it.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
  width?: number;
  dash?: number[];
  /** Drawn only as a band edge: no line, no legend value. */
  hidden?: boolean;
}

export interface ChartSpec {
  /** Times in seconds since the epoch, ascending. */
  x: number[];
  series: ChartSeries[];
  /** Fill between two series (indices into `series`). */
  bands?: { upper: number; lower: number; fill: string }[];
  /** Shaded time spans (seconds), e.g. anomalies. */
  spans?: { from: number; to: number; color: string }[];
  /** Horizontal lines, e.g. limits. */
  limits?: { value: number; color: string }[];
  yLabel?: string;
  height?: number;
  onZoom?: (fromSec: number, toSec: number) => void;
}

function overlays(spec: ChartSpec): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u: uPlot) => {
        const ctx = u.ctx;
        const { left, top, width, height } = u.bbox;
        ctx.save();
        for (const s of spec.spans ?? []) {
          const x0 = Math.max(left, u.valToPos(s.from, 'x', true));
          const x1 = Math.min(left + width, u.valToPos(s.to, 'x', true));
          if (x1 <= x0) continue;
          ctx.fillStyle = s.color;
          ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
        }
        ctx.restore();
      },
      draw: (u: uPlot) => {
        const ctx = u.ctx;
        const { left, width } = u.bbox;
        ctx.save();
        ctx.setLineDash([6, 4]);
        ctx.lineWidth = 1.5 * devicePixelRatio;
        for (const l of spec.limits ?? []) {
          const y = u.valToPos(l.value, 'y', true);
          ctx.strokeStyle = l.color;
          ctx.beginPath();
          ctx.moveTo(left, y);
          ctx.lineTo(left + width, y);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

/** Makes a chart in `el` (also used by the chart benchmark, bench/console.ts). */
export function createTimeChart(el: HTMLElement, spec: ChartSpec, width: number): uPlot {
  const opts: uPlot.Options = {
    width,
    height: spec.height ?? 260,
    pxAlign: false,
    cursor: { drag: { x: true, y: false }, points: { show: false } },
    scales: { x: { time: true } },
    axes: [
      { stroke: '#333', grid: { stroke: '#e4e4e4' } },
      {
        stroke: '#333',
        grid: { stroke: '#e4e4e4' },
        ...(spec.yLabel ? { label: spec.yLabel } : {}),
        size: 60,
      },
    ],
    series: [
      {},
      ...spec.series.map(
        (s): uPlot.Series => ({
          label: s.label,
          stroke: s.hidden ? 'transparent' : s.color,
          width: s.width ?? 1.5,
          ...(s.dash ? { dash: s.dash } : {}),
          points: { show: false },
          spanGaps: false,
          ...(s.hidden ? { show: true, value: () => '' } : {}),
        }),
      ),
    ],
    bands: (spec.bands ?? []).map((b) => ({
      series: [b.upper + 1, b.lower + 1] as [number, number],
      fill: b.fill,
    })),
    plugins: [overlays(spec)],
    hooks: spec.onZoom
      ? {
          setSelect: [
            (u: uPlot) => {
              if (u.select.width < 4) return;
              const from = u.posToVal(u.select.left, 'x');
              const to = u.posToVal(u.select.left + u.select.width, 'x');
              spec.onZoom?.(from, to);
            },
          ],
        }
      : {},
  };
  return new uPlot(opts, [spec.x, ...spec.series.map((s) => s.values)] as uPlot.AlignedData, el);
}

export function TimeChart(props: { spec: ChartSpec; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const chart = createTimeChart(el, props.spec, Math.max(320, el.clientWidth || 800));
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(320, el.clientWidth), height: chart.height }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [props.spec]);
  return <div class="chart" ref={box} role="img" aria-label={props.label} />;
}

/** Aligns points `{t, value}` of several series onto one sorted time axis (seconds). */
export function align(series: { t: number; v: number | null }[][]): { x: number[]; ys: (number | null)[][] } {
  const times = [...new Set(series.flatMap((s) => s.map((p) => p.t)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const ys = series.map((s) => {
    const out: (number | null)[] = new Array(times.length).fill(null);
    for (const p of s) out[index.get(p.t)!] = p.v;
    return out;
  });
  return { x: times, ys };
}
