/**
 * A node's served views, refreshed after its batch: read (the latest reading time, then the stored
 * partials the windows need, with the node's quality scores), compute (windows and the 7-day series,
 * pure), write (the window rows and the forecast in PostgreSQL, then every hot key in one cache pipeline).
 */

import { type CacheEntry, JsonText } from '../../adapters/cache/cache.ts';
import { MemoryModelRegistry } from '../../adapters/coordination/model-registry.ts';
import type { PartialRow } from '../../domain/aggregate.ts';
import { keys } from '../../domain/keys.ts';
import { type LatestBody, latestPayload, nodeMetadata, type StoredLatest } from '../../domain/payloads.ts';
import type { NodeInfo } from '../../domain/readings.ts';
import { dayOf, hourlyRows, type SettledView } from '../../domain/view-state.ts';
import {
  computeWindow,
  hourlySeries,
  lookbackStart,
  RANGE_NAMES,
  type Range,
  seriesStart,
  windowFigures,
} from '../../domain/windows.ts';
import type { AggregatorDeps } from '../deps.ts';
import { writeHotKeys } from '../hot-keys.ts';
import { forecastNode, isForecastNode } from './node-forecast.ts';
import type { NodeQualityScores } from './node-quality.ts';
import type { AggregateStore } from './store.ts';

export { latestPayload, nodeMetadata };

/** Quality scores a batch just computed, keyed by its message's node object, for the refresh that follows. */
export const justScored = new WeakMap<NodeInfo, NodeQualityScores>();
/** The latest values a batch just committed (its node_latest row), for the refresh that follows. */
export const justWritten = new WeakMap<NodeInfo, StoredLatest>();

/**
 * A latest body with its keys (and each value's) in the order PostgreSQL's jsonb keeps them (shorter
 * keys first, then bytewise): what reading the row back gives, so whatever is built from it is the same.
 */
export function inJsonbOrder(body: LatestBody): LatestBody {
  const keys = Object.keys(body).sort((a, b) =>
    a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0,
  );
  const out: LatestBody = {};
  for (const k of keys) {
    const v = body[k]!;
    out[k] = { ts: v.ts, value: v.value };
  }
  return out;
}

export interface NodeView {
  asOfMs: number;
  latest: LatestBody;
  windows: ReturnType<typeof computeWindow>[];
  timeseries7d: ReturnType<typeof hourlySeries>;
  /** The hourly partials read for the 7-day window (forecasts refresh from them). */
  hourly: PartialRow[];
}

type ViewRows = Record<'5m' | '1h' | '1d', PartialRow[]>;
/** What the views are computed from: the rows, and the daily ranges' folds of the days before today. */
export interface ViewInputs {
  latest: StoredLatest;
  rows: ViewRows;
  prefixes?: SettledView['prefixes'];
}

/**
 * Reads what a node's views are computed from: its latest reading time (unless the caller has the
 * stored row: `known`), then the stored partials of the windows ending there (their bounds depend
 * on it) — with the node's settled state of that day, only the rows it does not hold.
 * Null when the node has no reading yet.
 */
export async function readNodeView(
  store: Pick<AggregateStore, 'readLatest' | 'readNodeViewInputs'>,
  nodeId: string,
  known?: StoredLatest,
): Promise<ViewInputs | null> {
  const latest = known ?? (await store.readLatest(nodeId));
  if (!latest) return null;
  const asOfMs = latest.tsMs;
  const h1FullFromMs = lookbackStart(asOfMs, '1h');
  const { rows, settled } = await store.readNodeViewInputs(nodeId, {
    m5FromMs: lookbackStart(asOfMs, '5m'),
    // 168 hours for the series; whole rows (sketches too) only where a window needs them.
    h1FromMs: seriesStart(asOfMs),
    h1FullFromMs,
    d1FromMs: lookbackStart(asOfMs, '1d'),
    dayMs: dayOf(asOfMs),
  });
  if (!settled) return { latest, rows };
  return {
    latest,
    rows: { ...rows, '1h': hourlyRows(settled, asOfMs, h1FullFromMs, rows['1h']) },
    prefixes: settled.prefixes,
  };
}

/** A node's served views from its stored partials (pure: deterministic for a given stored state). */
export function nodeView({ latest, rows, prefixes }: ViewInputs): NodeView {
  const asOfMs = latest.tsMs;
  return {
    asOfMs,
    latest: latest.body,
    windows: RANGE_NAMES.map((range) =>
      computeWindow(range, asOfMs, rows, prefixes?.[range as keyof SettledView['prefixes']]),
    ),
    timeseries7d: hourlySeries(asOfMs, rows['1h']),
    hourly: rows['1h'],
  };
}

/** Recomputes a node's served views from stored partials. */
export async function computeNodeView(
  store: Pick<AggregateStore, 'readLatest' | 'readNodeViewInputs'>,
  nodeId: string,
): Promise<NodeView | null> {
  const read = await readNodeView(store, nodeId);
  return read ? nodeView(read) : null;
}

export const windowPayload = (nodeId: string, w: NodeView['windows'][number]) => ({ nodeId, ...w });

/** The node's hot keys (pure); `windowTexts`: the windows' payloads as JSON text, in `view.windows`' order. */
function hotEntries(
  node: NodeInfo,
  ttlSeconds: number,
  view: NodeView | null,
  windowTexts: { range: Range; json: string }[],
  quality: unknown,
  forecastPayload: unknown,
): CacheEntry[] {
  const t = node.tenantId;
  const entry = (key: string, value: unknown): CacheEntry => ({ key, value, ttlSeconds });
  const entries = [entry(keys.nodeMetadata(t, node.id), nodeMetadata(node))];
  if (view) {
    entries.push(entry(keys.nodeLatest(t, node.id), latestPayload(node.id, view.asOfMs, view.latest)));
    for (const w of windowTexts) {
      entries.push(entry(keys.nodeMetrics(t, node.id, w.range), new JsonText(w.json)));
    }
    entries.push(
      entry(keys.nodeTimeseries7d(t, node.id), {
        nodeId: node.id,
        resolution: '1h',
        series: view.timeseries7d,
      }),
    );
    if (forecastPayload) entries.push(entry(keys.predictions(t, node.id), forecastPayload));
  }
  if (quality) entries.push(entry(keys.nodeQuality(t, node.id), quality));
  return entries;
}

/** Forecast models of processes whose deps bring no registry (tests that build deps by hand). */
const processModels = new MemoryModelRegistry();

/** Writes the node's served views to PostgreSQL and its hot keys to the cache (one pipeline). */
export async function refreshNodeViews(deps: AggregatorDeps, node: NodeInfo): Promise<NodeView | null> {
  const store = deps.stores.aggregate;
  const analytics = deps.settings.analytics;
  const scored = justScored.get(node);
  justScored.delete(node);
  const written = justWritten.get(node);
  justWritten.delete(node);
  // Read: the view's inputs (the latest row unless the batch just wrote it), and the quality scores
  // unless the batch just computed them.
  const [read, quality] = await Promise.all([
    readNodeView(store, node.id, written),
    analytics ? (scored ?? store.readNodeQuality(node.id)) : null,
  ]);
  // Compute.
  const view = read ? nodeView(read) : null;
  // Each window's payload serialized once: the same text goes to PostgreSQL and to its hot key.
  const windowTexts = (view?.windows ?? []).map((w) => ({
    range: w.range,
    json: JSON.stringify(windowPayload(node.id, w)),
    figures: windowFigures(w),
  }));
  // Write: the window rows with the forecast (its own read, compute and write), then the hot keys.
  const [, forecast] = view
    ? await Promise.all([
        store.writeWindows(node.id, view.asOfMs, windowTexts),
        analytics && isForecastNode(node)
          ? forecastNode(
              { store: deps.stores.forecasts, models: deps.models ?? processModels, logger: deps.logger },
              node,
              view.asOfMs,
              view.hourly,
            )
          : null,
      ])
    : [];
  // Best effort: PostgreSQL has the node's state; keys Redis misses are rewritten by the next refresh.
  await writeHotKeys(
    deps,
    hotEntries(node, deps.settings.cacheTtlSeconds, view, windowTexts, quality, forecast?.payload),
    'node',
  );
  return view;
}
