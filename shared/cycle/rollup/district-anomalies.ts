/**
 * District anomalies in the rollup, once per run: the net inflow against its seasonal baseline (which judges
 * the inlets of a district in place of their own baselines), bursts (the district's net inflow steps up while
 * pressure drops), leaks by minimum night flow, and leaks by pressure residuals (each pressure point against
 * what the district's others predict; three weeks of hourly pressure partials read per rollup), and leaks by
 * the water balance where the district's customers are metered (supply — its inlets and the outlets of other
 * districts declared as feeding it — less its outlets, its tanks' storage and its customer meters; three weeks
 * of hourly partials of those meters per rollup), and the pressure points' range and spikes judged together
 * (a drop several points share is one low-pressure event, with the tanks' levels; the rest, each point's
 * sensor faults). Run after every node of the run is applied, so every
 * inlet, outlet and pressure point is in; at the same instants as the node detectors (each cycle
 * boundary since the previous rollup, and the run's end).
 *
 * Each local night's minimum net inflow is computed once, when the night is over, and kept per district
 * (district_nights): the night-flow detector compares the latest nights with four weeks of them without
 * reading four weeks of 5-minute data every cycle.
 *
 * An open night-flow, pressure-residual or water-balance anomaly freezes its detector's reference before its
 * start (a leak never becomes its own reference). Once that lies before what is read every time (the nights
 * of five weeks, three weeks of hourly partials), it is read apart, so a long-open leak neither runs short of
 * reference nor resolves (and, for the latter two, reopens).
 *
 * Longer than 400 lines because the rollup's district detectors share one read of each series and one
 * lifecycle pass per instant: split up, each would read the districts' anomalies and meters again.
 */
import {
  type Anomaly,
  type AnomalyStatus,
  advanceDistrictInstant,
  type BucketSeries,
  DEFAULT_ANOMALY_CONFIG,
  DEFAULT_NIGHT_FLOW,
  type DistrictNodeSeries,
  type NightFlow,
  netInflow,
  nightlyMinimumFlows,
  pressureExcludedSpans,
  reopenLookbackMs,
  type Transition,
  toBucketSeries,
  type WaterBalanceInput,
} from '../../anomaly/index.ts';
import { DAY_MS, HOUR_MS } from '../../domain/aggregate.ts';
import { metricIndex } from '../../domain/readings.ts';
import type { Logger } from '../../log.ts';
import { baselineHours, evaluationInstants, historiesOf } from '../aggregate/node-anomalies.ts';
import { logOpened } from '../aggregate/opened-log.ts';
import type { AggregatorDeps } from '../deps.ts';
import type { DistrictMeters, HourlyMetricRow, StoredNight } from './store.ts';

/** The burst detector's look-back (six hours and the half hour before them), with a margin. */
const BURST_LOOKBACK_MS = 7 * HOUR_MS;
/**
 * Nights are computed for at most the last three days (a rollup after an outage catches up that far);
 * the first rollup of a tenant computes the whole reference period from the stored history.
 */
const NIGHTS_CATCH_UP_MS = 3 * DAY_MS;

/** A node's hourly series over [fromMs, toMs) from its hourly partials' counts and sums. */
export function hourlySeriesOf(
  cells: Map<string, { bucketMs: number; count: number; sum: number }[]>,
  id: string,
  fromMs: number,
  toMs: number,
): BucketSeries {
  const partials = (cells.get(id) ?? []).map((c) => ({
    ...c,
    sumSq: Number.NaN,
    min: Number.NaN,
    max: Number.NaN,
    first: Number.NaN,
    last: Number.NaN,
  }));
  return toBucketSeries(partials, { fromMs, toMs, stepMs: HOUR_MS });
}

/** A district's nights over a span from the hourly partials of its meters (the first rollup's catch-up). */
function hourlyNights(
  d: DistrictMeters,
  cells: Map<string, { bucketMs: number; count: number; sum: number }[]>,
  fromMs: number,
  toMs: number,
): NightFlow[] {
  const series = (kind: string) =>
    d.nodes.filter((n) => n.kind === kind).map((n) => hourlySeriesOf(cells, n.id, fromMs, toMs));
  const net = netInflow(series('inlet'), series('outlet'));
  const cfg = DEFAULT_ANOMALY_CONFIG.district.nightFlow ?? DEFAULT_NIGHT_FLOW;
  return net ? nightlyMinimumFlows(net, d.district.timezone, fromMs, toMs, cfg) : [];
}

/** The pressure points' hourly means over [fromMs, toMs) from their hourly partials. */
function pressureSeriesOf(
  ids: readonly string[],
  cells: Map<string, { bucketMs: number; count: number; sum: number }[]>,
  fromMs: number,
  toMs: number,
): { nodeId: string; hourly: BucketSeries }[] {
  return ids.map((id) => ({
    nodeId: id,
    hourly: hourlySeriesOf(cells, id, fromMs, toMs),
  }));
}

/** Runs the district detectors and lifecycle; returns how many anomalies opened. */
export async function detectDistrictAnomalies(
  deps: AggregatorDeps,
  tenantId: string,
  districts: readonly DistrictMeters[],
  nowMs: number,
  log: Logger,
): Promise<number> {
  const cfg = DEFAULT_ANOMALY_CONFIG.district;
  const nightCfg = cfg.nightFlow ?? DEFAULT_NIGHT_FLOW;
  const pressureCfg = cfg.pressureModel;
  const modelled = (d: DistrictMeters) =>
    pressureCfg !== null && d.nodes.filter((n) => n.kind === 'pressure').length > pressureCfg.minOthers;
  // Districts with an inlet (bursts, night flow), or with enough pressure points to model each from the others.
  const balanceCfg = cfg.waterBalance;
  // A water balance needs customer meters and a metered supply (inlets, feeders from elsewhere, or tanks).
  const balanced = (d: DistrictMeters) =>
    balanceCfg !== null &&
    d.nodes.filter((n) => n.kind === 'customer').length >= Math.max(1, balanceCfg.minCustomers) &&
    (d.nodes.some((n) => n.kind === 'inlet' || n.kind === 'tank') || (d.feeders ?? []).length > 0);
  // Pressure points are judged together (their range and spikes: a drop they share is a low-pressure event).
  const pointed = (d: DistrictMeters) =>
    cfg.pressureEvent !== null && d.nodes.some((n) => n.kind === 'pressure');
  const watched = districts.filter(
    (d) => d.nodes.some((n) => n.kind === 'inlet') || modelled(d) || balanced(d) || pointed(d),
  );
  if (watched.length === 0) return 0;
  const store = deps.stores.rollup;
  const previous = await store.readDistrictAnomaliesEvaluated(tenantId);
  const instants = evaluationInstants(previous ?? Number.NEGATIVE_INFINITY, nowMs, deps.settings.cycleMs);
  const referenceDays = nightCfg.referenceNights + nightCfg.recentNights + nightCfg.oddNights + 2;
  // Nights that ended since the last rollup come from the 5-minute data read anyway (the night window
  // is a few hours before the burst detector's look-back). The very first rollup has no earlier nights:
  // it computes the reference period once from hourly partials (a tenth of the rows).
  const nightsFrom = previous === null ? null : Math.max(previous, nowMs - NIGHTS_CATCH_UP_MS);
  const nightSpanMs = (nightCfg.endHour - nightCfg.startHour + 2) * HOUR_MS;
  const fromMs = Math.min(instants[0]! - BURST_LOOKBACK_MS, (nightsFrom ?? nowMs) - nightSpanMs);
  const nodes = watched.flatMap((d) =>
    d.nodes.filter((n) => ['inlet', 'outlet', 'pressure', 'tank'].includes(n.kind)),
  );
  const meters = watched.flatMap((d) => d.nodes.filter((n) => n.kind === 'inlet' || n.kind === 'outlet'));
  // The pressure model's window: its reference and lag before the first instant, in hourly partials.
  const pressureFromMs = pressureCfg
    ? instants[0]! - (pressureCfg.referenceHours + pressureCfg.lagHours + 1) * HOUR_MS
    : nowMs;
  const pressureIds = watched
    .filter(modelled)
    .flatMap((d) => d.nodes.filter((n) => n.kind === 'pressure').map((n) => n.id));
  // The balance's window: its reference and lag before the first instant, and an hour either side.
  const balanceFromMs = balanceCfg
    ? instants[0]! - (balanceCfg.referenceHours + balanceCfg.lagHours + 3) * HOUR_MS
    : nowMs;
  const balanceIds = watched
    .filter(balanced)
    .flatMap((d) => [
      ...d.nodes.filter((n) => ['inlet', 'outlet', 'tank', 'customer'].includes(n.kind)).map((n) => n.id),
      ...(d.feeders ?? []).map((n) => n.id),
    ]);
  const [history, storedNights, stored, catchUp, pressureCells, balanceRows] = await Promise.all([
    store.readDetectorHistory(
      nodes.map((n) => n.id),
      [metricIndex('flow'), metricIndex('pressure')],
      { fromMs, toMs: nowMs },
      // The burst detector's level and the net inflow's seasonal baseline (its evaluation points and scale).
      baselineHours(instants, cfg.baseline.weeks, 'both'),
    ),
    store.readNights(
      watched.map((d) => d.district.id),
      nowMs - referenceDays * DAY_MS,
    ),
    // Resolved ones as far back as the lifecycle may re-open them (a leak's flickering flow anomaly).
    store.readDistrictAnomalies(
      watched.map((d) => d.district.id),
      instants[0]! - Math.max(deps.settings.cycleMs, reopenLookbackMs()),
    ),
    previous === null
      ? deps.stores.forecasts.readHourly(
          meters.map((n) => n.id),
          'flow',
          nowMs - referenceDays * DAY_MS,
          nowMs,
        )
      : null,
    pressureIds.length > 0
      ? deps.stores.forecasts.readHourly(pressureIds, 'pressure', pressureFromMs, nowMs)
      : null,
    balanceIds.length > 0
      ? store.readHourlyMetrics(
          [...new Set(balanceIds)],
          [metricIndex('flow'), metricIndex('volume')],
          balanceFromMs,
          nowMs,
        )
      : null,
  ]);
  const cellsOf = (rows: readonly HourlyMetricRow[]) => {
    const out = new Map<
      string,
      { bucketMs: number; count: number; sum: number; first: number; last: number }[]
    >();
    for (const r of rows) {
      const key = `${r.nodeId}\u0000${r.metric}`;
      const cells = out.get(key) ?? [];
      if (cells.length === 0) out.set(key, cells);
      cells.push({ ...r, first: r.first ?? Number.NaN, last: r.last ?? Number.NaN });
    }
    return out;
  };
  const seriesOf =
    (cells: ReturnType<typeof cellsOf>, fromMs: number, toMs: number) =>
    (id: string, metric: 'flow' | 'volume'): BucketSeries =>
      toBucketSeries(
        (cells.get(`${id}\u0000${metricIndex(metric)}`) ?? []).map((c) => ({
          ...c,
          sumSq: Number.NaN,
          min: Number.NaN,
          max: Number.NaN,
        })),
        { fromMs, toMs, stepMs: HOUR_MS },
      );
  const hourlyOf = seriesOf(cellsOf(balanceRows ?? []), balanceFromMs, nowMs);
  const balanceInput = (d: DistrictMeters, of: (id: string, metric: 'flow' | 'volume') => BucketSeries) => {
    const ids = (kind: string) => d.nodes.filter((n) => n.kind === kind).map((n) => n.id);
    const supplyIds = [...ids('inlet'), ...(d.feeders ?? []).map((n) => n.id)];
    return {
      supply: supplyIds.map((id) => of(id, 'flow')),
      outflow: ids('outlet').map((id) => of(id, 'flow')),
      tanks: ids('tank').map((id) => of(id, 'volume')),
      customers: ids('customer').map((id) => of(id, 'flow')),
      ...(supplyIds[0] ? { nodeId: supplyIds[0] } : {}),
    };
  };
  /** The district's open (or acknowledged) anomaly of a type: its reference is frozen before its start. */
  const openOf = (districtId: string, type: Anomaly['type']) =>
    stored.find(
      (a) =>
        a.districtId === districtId &&
        a.type === type &&
        (a.status === 'open' || a.status === 'acknowledged'),
    );
  // An open balance anomaly freezes the reference before its start, which may lie before the window read
  // above: that reference window is read on its own (the CUSUM itself runs over the recent hours only).
  const frozenReference = new Map<string, WaterBalanceInput>();
  if (balanceCfg) {
    for (const d of watched.filter(balanced)) {
      const open = openOf(d.district.id, 'water_balance');
      if (!open) continue;
      const refFrom = open.startMs - (balanceCfg.referenceHours + balanceCfg.blockHours + 2) * HOUR_MS;
      if (refFrom >= balanceFromMs) continue;
      const refTo = open.startMs + 2 * HOUR_MS;
      const ids = [
        ...d.nodes.filter((n) => ['inlet', 'outlet', 'tank', 'customer'].includes(n.kind)).map((n) => n.id),
        ...(d.feeders ?? []).map((n) => n.id),
      ];
      const rows = await store.readHourlyMetrics(
        ids,
        [metricIndex('flow'), metricIndex('volume')],
        refFrom,
        refTo,
      );
      frozenReference.set(open.id, balanceInput(d, seriesOf(cellsOf(rows), refFrom, refTo)));
    }
  }
  // An open night-flow leak keeps its reference nights before its start: once they lie before the nights
  // read above, the district's nights are read from there (a row a night).
  const olderNights: StoredNight[] = [];
  for (const d of watched) {
    const open = openOf(d.district.id, 'night_flow_leak');
    const sinceMs = open ? open.startMs - (nightCfg.referenceNights + 2) * DAY_MS : Number.POSITIVE_INFINITY;
    if (sinceMs >= nowMs - referenceDays * DAY_MS) continue;
    olderNights.push(...(await store.readNights([d.district.id], sinceMs)));
  }
  // The same for an open pressure-residual anomaly: its model's reference window, read on its own.
  const pressureReference = new Map<string, { nodeId: string; hourly: BucketSeries }[]>();
  // The district's past leaks seen by the pressure model (resolved anomalies, not superseded ones: their
  // leak still runs), left out of its reference: a repaired leak's hours would make the repair read as drops.
  const pressureExcluded = new Map<string, { fromMs: number; toMs: number }[]>();
  const pressureExtended = new Map<string, { nodeId: string; hourly: BucketSeries }[]>();
  if (pressureCfg) {
    const opens = watched.flatMap((d) => openOf(d.district.id, 'pressure_residual') ?? []);
    const since = Math.min(
      pressureFromMs,
      ...opens.map((a) => a.startMs - pressureCfg.referenceHours * HOUR_MS),
    );
    const past = await store.readDistrictAnomalies(
      watched.filter(modelled).map((d) => d.district.id),
      since,
    );
    for (const d of watched) {
      const spans = pressureExcludedSpans(past.filter((a) => a.districtId === d.district.id));
      if (spans.length > 0) pressureExcluded.set(d.district.id, spans);
    }
    for (const d of watched.filter(modelled)) {
      const spans = pressureExcluded.get(d.district.id) ?? [];
      // The model takes earlier hours in place of excluded ones: read back as far as they reach.
      const extraMs = spans.reduce((a, x) => a + x.toMs - x.fromMs + HOUR_MS, 0);
      const ids = d.nodes.filter((n) => n.kind === 'pressure').map((n) => n.id);
      if (extraMs > 0) {
        const from = pressureFromMs - extraMs;
        const cells = await deps.stores.forecasts.readHourly(ids, 'pressure', from, nowMs);
        pressureExtended.set(d.district.id, pressureSeriesOf(ids, cells, from, nowMs));
      }
      const open = openOf(d.district.id, 'pressure_residual');
      if (!open) continue;
      const refFrom = open.startMs - (pressureCfg.referenceHours + 1) * HOUR_MS - extraMs;
      if (refFrom >= pressureFromMs - extraMs) continue;
      const refTo = open.startMs + HOUR_MS;
      const cells = await deps.stores.forecasts.readHourly(ids, 'pressure', refFrom, refTo);
      pressureReference.set(open.id, pressureSeriesOf(ids, cells, refFrom, refTo));
    }
  }

  const newNights: StoredNight[] = [];
  const transitions: Transition[] = [];
  const previousStatus = new Map<string, AnomalyStatus>(stored.map((a) => [a.id, a.status]));
  const openedIds = new Set<string>();
  const latestById = new Map<string, Anomaly>();
  for (const d of watched) {
    const series = (kinds: string[]): DistrictNodeSeries[] =>
      d.nodes
        .filter((n) => kinds.includes(n.kind))
        .map((n) => {
          const rows = history.get(n.id) ?? { fiveMinute: [], baseline: [] };
          const h = historiesOf(['flow', 'pressure'], rows.fiveMinute, rows.baseline, fromMs, nowMs);
          const has = (m: 'flow' | 'pressure') =>
            h[m]?.fiveMinute.count.some((c) => c > 0) ? h[m] : undefined;
          const flow = has('flow');
          const pressure = has('pressure');
          return { nodeId: n.id, ...(flow ? { flow } : {}), ...(pressure ? { pressure } : {}) };
        });
    const inlets = series(['inlet']);
    const outlets = series(['outlet']);
    const pressurePoints = series(['pressure']);
    const tanks = series(['tank']);
    // The nights that ended since the last rollup, from the net inflow, kept for the next ones.
    const fresh = catchUp
      ? hourlyNights(d, catchUp, nowMs - referenceDays * DAY_MS, nowMs)
      : (() => {
          const net = netInflow(
            inlets.flatMap((n) => (n.flow ? [n.flow.fiveMinute] : [])),
            outlets.flatMap((n) => (n.flow ? [n.flow.fiveMinute] : [])),
          );
          return net ? nightlyMinimumFlows(net, d.district.timezone, nightsFrom!, nowMs, nightCfg) : [];
        })();
    for (const n of fresh) newNights.push({ districtId: d.district.id, ...n });
    const byDate = new Map(
      [...olderNights, ...storedNights].filter((n) => n.districtId === d.district.id).map((n) => [n.date, n]),
    );
    for (const n of fresh) byDate.set(n.date, { districtId: d.district.id, ...n });
    const nights = [...byDate.values()].sort((a, b) => a.endMs - b.endMs);

    const pressureHourly =
      pressureExtended.get(d.district.id) ??
      (pressureCells && modelled(d)
        ? pressureSeriesOf(
            d.nodes.filter((n) => n.kind === 'pressure').map((n) => n.id),
            pressureCells,
            pressureFromMs,
            nowMs,
          )
        : undefined);

    const waterBalance: WaterBalanceInput | undefined = balanced(d) ? balanceInput(d, hourlyOf) : undefined;
    const excluded = pressureExcluded.get(d.district.id) ?? [];

    const subject = { tenantId, nodeId: null, districtId: d.district.id };
    let current = stored.filter((a) => a.districtId === d.district.id);
    for (const t of instants) {
      const result = advanceDistrictInstant(subject, current, t, {
        input: {
          districtId: d.district.id,
          timezone: d.district.timezone,
          inlets,
          outlets,
          pressurePoints,
          tanks,
          ...(pressureHourly ? { pressureHourly } : {}),
          ...(waterBalance ? { waterBalance } : {}),
        },
        nights,
        excluded,
        pressureReference,
        balanceReference: frozenReference,
        cycleMs: deps.settings.cycleMs,
      });
      for (const tr of result.transitions) {
        if (tr.kind === 'discarded') {
          latestById.delete(tr.anomaly.id);
          if (previousStatus.has(tr.anomaly.id)) transitions.push(tr);
          continue;
        }
        latestById.set(tr.anomaly.id, tr.anomaly);
        if (tr.kind === 'opened') openedIds.add(tr.anomaly.id);
      }
      current = result.anomalies;
    }
  }
  for (const a of latestById.values()) {
    transitions.push({ kind: openedIds.has(a.id) ? 'opened' : 'updated', anomaly: a });
  }
  await store.writeNights(tenantId, newNights);
  const written =
    transitions.length > 0
      ? await store.writeDistrictTransitions(transitions, previousStatus)
      : new Set<string>();
  let opened = 0;
  for (const id of openedIds) {
    const a = latestById.get(id);
    if (a && written.has(id)) {
      logOpened(log, a);
      opened++;
    }
  }
  await store.saveDistrictAnomaliesEvaluated(tenantId, nowMs);
  return opened;
}
