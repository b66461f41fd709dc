/**
 * # Network simulator
 *
 * A seeded, deterministic simulator of a water distribution network: the local demo's data source, the
 * ground truth for anomaly-detection evaluation, and the benchmarks' load generator.
 *
 * ```ts
 * const sim = createSimulator({ seed: 42, nodes: 48 });
 * sim.network();                                   // districts + nodes (registry data)
 * sim.readings(from, to);                          // Reading[] on the 1-minute grid in [from, to)
 * sim.columns('d01-inlet-1', from, to, 60_000);    // fast path: Float64Array columns
 * sim.events(from, to);                            // ground truth: leaks, bursts, sensor faults…
 * sim.readIngested({ fromIngestMs, toIngestMs, minTsMs }); // ReadingSource semantics
 * sim.waterBalance('d01', from, to);               // true inflow, consumption, losses (m³)
 * createSimulatorSource({ seed: 42, nodes: 48 });  // a ReadingSource named 'simulator'
 * ```
 *
 * ## Determinism
 * Every value is a pure function of (seed, node, t): noise, events and ingestion times come from
 * integer hashes (murmur3 finaliser) of the seed, the node id and the second/hour/week, never from a
 * sequential RNG. Any window can be generated alone and equals the same slice of a longer run;
 * `npm test` checks this. Volume registers do not integrate step by step: they are closed-form
 * integrals of the same flows (piecewise-linear demand curves, per-day running sums since 1970).
 *
 * ## Network (`nodes` ≈ total, `districts` ≈ nodes / 12, each with ≥ 6 nodes)
 * Districts (DMAs `d01`, `d02`, …; Rome neighbourhoods, timezone Europe/Rome) carry connections
 * (900–5,100), mains length, private pipe length and average pressure (m). Background leakage is
 * sized from an Infrastructure Leakage Index of 1.4–5 (UARL formula). Per district:
 * - `dNN-inlet-1` (and half the time `-inlet-2`, splitting the inflow): flow, pressure, temperature, volume;
 * - sometimes `dNN-outlet-1`, exporting water to the next district: flow, pressure, volume;
 * - `dNN-pressure-K` pressure points at different elevations and distances: pressure, temperature;
 * - `dNN-tank-1`, the service reservoir upstream of the inlets: net flow (signed: + filling), level
 *   pressure, stored volume (m³, NOT a cumulative register: it rises at night and falls at the peaks);
 * - `dNN-quality-K`: chlorine, turbidity, pH, temperature;
 * - `dNN-customer-K` aggregated customer groups (residential, commercial, industrial): their sum is the
 *   district's authorised consumption: flow, volume;
 * - `dNN-pump-K` booster pumps on a schedule (day, night, peaks, alternate days): flow, pressure.
 *
 * ## Physics
 * - Demand: hourly piecewise-linear curves per consumer type, night minimum at 03–04 local time, morning
 *   and evening peaks; Saturdays differ; Sundays and Italian public holidays (fixed dates + Easter
 *   Monday) share one curve; ±10 % seasonal swing peaking in July; DST days are 23 or 25 hours long.
 * - Inflow = Σ customers + background leakage (higher at night with pressure) + export + leaks + bursts.
 * - Pressure = (static head − elevation − share · k · Q²) / 10.197 bar: it falls as demand rises.
 * - Volume (m³) integrates flow exactly (inlets, outlets, customers); the meter reading starts at an
 *   arbitrary offset in 1970.
 * - Service reservoir: net flow = the day's mean inflow − the current inflow; back at its mid level
 *   every local midnight.
 * - Quality: free chlorine decays with residence time (longer at low demand) faster in warm water
 *   (0.2–0.7 mg/L); turbidity ~0.1–0.3 NTU with occasional small excursions; pH 7.2–7.8; water
 *   temperature 6–22 °C over the year.
 * - Pumps: when scheduled off the flow is exactly 0 (not a fault); pressure then reads suction.
 * - Noise: ~1 % flow, 0.015 bar, 0.03 °C, 0.008 mg/L, 0.01 NTU, 0.01 pH (`noiseScale` multiplies it).
 * - Values are rounded to the meters' resolution (3 decimals; 2 for temperature and pH).
 *
 * ## Events (ground truth: `sim.events`, types and units in events.ts `EVENT_TYPES`)
 * Scheduled per target, type and week by hashing (seed, target, type, week): a Poisson number of
 * events per week with `eventRates` as the mean (per district for leaks and bursts, per applicable
 * node otherwise). Defaults (a 48-node network over 7 days shows a handful of each): leak 0.5, burst
 * 0.75, flatline 0.08, gap 0.12, silent 0.05, spike 0.15, outOfRange 0.08, negativeFlow 0.2 (flow
 * meters), lowChlorine 0.6 and highTurbidity 0.6 (quality stations). Leaks (3–14 days, ramping) and
 * bursts (2–12 h) change the physics (inlet flow and volume, pressure everywhere in the district);
 * sensor faults change only the faulty node's readings; gaps and silences remove rows. Where faults
 * overlap: negativeFlow < flatline < spike < outOfRange < gap/silent. A spike or out-of-range event
 * lasts one (to five) minutes on the minute grid: a coarser step may miss it.
 *
 * ## Ingestion (`ingestion` option, defaults in ingestion.ts)
 * ingestedAt = ts + 10–120 s. 1 % of node-hours arrive late in one batch 1–6 h after their hour
 * (`lateShare`), 0.5 % of readings arrive twice, the copy 1 s–10 min later (`duplicateShare`); 0.2 %
 * of readings lack one metric (null; `missingValueShare`). `sim.maxLatenessMs` bounds ingestedAt − ts
 * (default 7 h 12 min): readIngested looks back that far, generating only the late hours there.
 *
 * ## Speed
 * `columns` generates several million readings per second on one core; `node shared/simulator/speed.ts`
 * prints the rate. `readings` builds objects from the same columns and is slower. The first reading
 * of an inlet sums its district's leak and burst history since 1970 for the volume register (~1 ms
 * per district, cached), and the first use of the calendar builds its day tables (~20 ms, shared).
 *
 * ## Files
 * hash.ts (counter-based randomness) · demand.ts (diurnal curves) · calendar.ts (Europe/Rome days,
 * holidays, running integrals) · network.ts (layout) · events.ts (schedule, ground truth) ·
 * district.ts (district hydraulics) · physics.ts (per-kind node values) · ingestion.ts · readings.ts
 * (faults, ingestion, columns, readIngested) · simulator.ts (the API) · source.ts (ReadingSource).
 */
export {
  Clock,
  DAY_MS,
  dayStartMs,
  FIXED_HOLIDAYS,
  HOUR_MS,
  holidaysOf,
  isHolidayOrSunday,
  localDayOf,
  MINUTE_MS,
  SIM_TIMEZONE,
  WEEK_MS,
} from './calendar.ts';
export { PATTERNS, type PatternName } from './demand.ts';
export {
  DEFAULT_EVENT_RATES,
  EVENT_TYPES,
  type EventRates,
  MAX_EVENT_MS,
  type SimEvent,
  type SimEventType,
} from './event-types.ts';
export { METRIC_DECIMALS, roundMetric } from './events.ts';
export { DEFAULT_INGESTION, type IngestionOptions, LATE_BLOCK_MS, maxLatenessMs } from './ingestion.ts';
export { PUMP_SCHEDULES, type PumpSchedule } from './network.ts';
export type { MetricColumns } from './physics.ts';
export type { ReadingColumns } from './readings.ts';
export {
  createSimulator,
  type EventFilter,
  type Simulator,
  type SimulatorOptions,
  type WaterBalanceTruth,
} from './simulator.ts';
export { createSimulatorSource, SimulatorSource } from './source.ts';
