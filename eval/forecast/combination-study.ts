/**
 * The served forecast's intervals and its combination rule, studied on the BWDF year (issue #16, helper C3): at each
 * weekly origin of the last full year (and four weeks before, whose forecasts only feed the rules that look back),
 * per DMA, ONE blend fit kept whole (as the cycle trains: no weather, the cycle's calendar and training window) on the data before the origin gives every member's forecast with its own
 * intervals, and the combination's under each interval rule. Rules that look back (the conformal factor from past
 * weeks, the weights from past skill) use only forecasts made at earlier origins whose 168 hours all lie before the
 * origin. Nothing at or after the origin is read by any fit or rule.
 *
 *   node eval/forecast/combination-study.ts --save /tmp/c3.json [--dma dma_1,dma_2]   (fits; saves as it goes)
 *   node eval/forecast/combination-study.ts --from /tmp/c3.json [--dma dma_1,dma_2]   (the tables)
 *
 * Interval rules (chosen on the first 26 origins, H1; reported on the other 26, H2):
 * - `blend`: the combination's mean in the blend's intervals (what main serves);
 * - `own`: the combination's own replays (its members' replays inside the blend fit, combined);
 * - `own-cal`: the same with the split-conformal calibration inside the replays (`{ calibrate: true }`);
 * - `own×past`: `own`, each band scaled by the smallest factor (0.5 … 3) under which it would have held its share of
 *   the errors of the combination's forecasts at the last four origins (split-conformal on past weeks);
 * - `past`: intervals from the errors of those four past forecasts alone (lead buckets, hour-of-day scale).
 * Combination rules: `equal` (main), `median`, `trimmed` (mean of the middle three), `skill` (weights ∝ inverse
 * MAE of each member over the last four weeks' forecasts, shrunk half way to equal), `skill-raw` (not shrunk).
 * `cycle:|point|bands`: the forecast the cycle's registry serves with the combination so defined, its policy
 * replayed over the saved forecasts (each method's one-week backtest is its saved forecast of a week before).
 * The saved run (eval/RESULTS.md, 2026-12-07, helper C3) was made with main's equal-weight combination; every rule
 * is computed from the saved members, so the tables do not depend on the library's current combination.
 *
 * Longer than 400 lines because the fits, the interval rules, the combination rules and the registry replay over
 * the same saved records read best as one study script (eval tooling, outside the library).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { calendarFor } from '../../shared/cycle/forecasting/forecast-refresh.ts';
import type { TrainedModel } from '../../shared/cycle/forecasting/forecast-training.ts';
import {
  type BlendModel,
  blend,
  blendOf,
  blendValues,
  fitBoosted,
  gbm,
} from '../../shared/forecast/boosted.ts';
import { ensemble, fitEnsemble } from '../../shared/forecast/ensemble.ts';
import { holtWinters } from '../../shared/forecast/holt-winters.ts';
import { buildResidualModel, type Hindcast, withIntervals } from '../../shared/forecast/intervals.ts';
import { regression } from '../../shared/forecast/regression.ts';
import { trainingMask } from '../../shared/forecast/sampling.ts';
import { bwdfTotal, meanScore, scoreBwdf } from '../../shared/forecast/score.ts';
import { seasonalNaive } from '../../shared/forecast/seasonal-naive.ts';
import {
  type FitOptions,
  type Forecast,
  HOUR_MS,
  type HourlySeries,
  MAX_HORIZON_HOURS,
  WEEK_HOURS,
} from '../../shared/forecast/types.ts';
import { rollingOrigins } from './backtest.ts';
import { DEPLOYED_METHOD_IDS, type DeployedModel, historyBefore, RegistryReplay } from './deployed.ts';
import { parseHourlyCsv, tableSeries } from './hourly-csv.ts';

const { values: args } = parseArgs({
  options: {
    dma: { type: 'string' },
    save: { type: 'string' },
    from: { type: 'string' },
    weeks: { type: 'string', default: '52' },
  },
});
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const inflows = parseHourlyCsv(
  readFileSync(resolve(repoRoot, '../shared/data/bwdf/dma-inflows.csv'), 'utf8'),
);
const TZ = 'Europe/Rome';
const LOOK_BACK = 4;
const WEEK_MS = WEEK_HOURS * HOUR_MS;

type Bands = { lo80: number[]; hi80: number[]; lo95: number[]; hi95: number[] };
interface Rec {
  dma: string;
  originMs: number;
  actual: number[];
  /** Point forecasts: seasonal-naive and the five members. */
  means: Record<string, number[]>;
  /** Intervals: each method's own, and the combination's under the fit-time rules. */
  bands: Record<string, Bands>;
}
const r4 = (xs: ArrayLike<number>): number[] => Array.from(xs, (x) => Math.round(x * 1e4) / 1e4);
const bandsOf = (f: Forecast): Bands => ({
  lo80: r4(f.lo80),
  hi80: r4(f.hi80),
  lo95: r4(f.lo95),
  hi95: r4(f.hi95),
});
const MEMBERS = ['holt-winters', 'regression', 'ensemble', 'gbm', 'blend'] as const;

/** The five members' equal-weight mean hour by hour (the combination as main had it; the rules below start here). */
function equalMean(
  model: BlendModel,
  hw: ArrayLike<number>,
  reg: ArrayLike<number>,
  trees: ArrayLike<number>,
) {
  const n = Math.min(hw.length, reg.length, trees.length);
  const [wh, wr] = model.ensemble.weights;
  return Float64Array.from({ length: n }, (_, k) => {
    const h = hw[k]!;
    const r = reg[k]!;
    const e = Number.isNaN(h) ? r : Number.isNaN(r) ? h : h * wh + r * wr;
    const xs = [h, r, e, trees[k]!, blendValues(e, trees[k]!, model.weights)].filter((v) => !Number.isNaN(v));
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
  });
}

/** The blend fit kept whole: the blend and the combination's own replays (its members' replays combined). */
function fitCombination(history: HourlySeries, options: FitOptions) {
  const ens = fitEnsemble(history, options);
  const trees = fitBoosted(
    history,
    options,
    ens.hindcasts.map((h) => h.origin),
  );
  const fitted = blendOf(history, ens, trees);
  const hwAt = new Map(ens.members.holtWinters.map((h) => [h.origin, h.mean]));
  const regAt = new Map(ens.members.regression.map((h) => [h.origin, h.mean]));
  const hindcasts: Hindcast[] = [];
  for (const t of trees.hindcasts) {
    const hw = hwAt.get(t.origin);
    const reg = regAt.get(t.origin);
    if (hw && reg) hindcasts.push({ origin: t.origin, mean: equalMean(fitted.model, hw, reg, t.mean) });
  }
  const residuals = hindcasts.length ? buildResidualModel(history, hindcasts) : fitted.model.residuals;
  return { model: { ...fitted.model, residuals }, hindcasts, blend: fitted };
}

if (args.save) {
  const dmas = args.dma ? args.dma.split(',') : [...inflows.columns.keys()];
  const recs: Rec[] = existsSync(args.save)
    ? JSON.parse(readFileSync(args.save, 'utf8'), (_, v) => (v === null ? Number.NaN : v))
    : [];
  const started = performance.now();
  for (const dma of dmas) {
    const series = tableSeries(inflows, dma);
    const origins = rollingOrigins(series, Number(args.weeks));
    const first = origins[0]!;
    const all = [
      ...Array.from({ length: LOOK_BACK }, (_, i) => first - (LOOK_BACK - i) * WEEK_MS),
      ...origins,
    ];
    for (const originMs of all) {
      if (recs.some((r) => r.dma === dma && r.originMs === originMs)) continue;
      const history = historyBefore(series, originMs);
      const options = {
        calendar: calendarFor(TZ),
        trainingMask: trainingMask(history.startMs, history.values.length, originMs),
      };
      const cut = (originMs - series.startMs) / HOUR_MS;
      const fit = fitCombination(history, options);
      const b = fit.blend.model;
      const naive = seasonalNaive.forecast(seasonalNaive.fit(history, options), MAX_HORIZON_HOURS);
      const forecasts: Record<string, Forecast> = {
        'seasonal-naive': naive,
        'holt-winters': holtWinters.forecast(b.ensemble.holtWinters, MAX_HORIZON_HOURS),
        regression: regression.forecast(b.ensemble.regression, MAX_HORIZON_HOURS),
        ensemble: ensemble.forecast(b.ensemble, MAX_HORIZON_HOURS),
        gbm: gbm.forecast(b.gbm, MAX_HORIZON_HOURS),
        blend: blend.forecast(b, MAX_HORIZON_HOURS),
      };
      const mean = equalMean(
        b,
        forecasts['holt-winters']!.mean,
        forecasts.regression!.mean,
        forecasts.gbm!.mean,
      );
      const start = naive.startMs;
      const bands: Record<string, Bands> = {};
      for (const [id, f] of Object.entries(forecasts)) bands[id] = bandsOf(f);
      bands['comb:blend'] = bandsOf(withIntervals(start, mean, b.residuals));
      bands['comb:own'] = bandsOf(withIntervals(start, mean, fit.model.residuals));
      bands['comb:own-cal'] = bandsOf(
        withIntervals(start, mean, buildResidualModel(history, fit.hindcasts, { calibrate: true })),
      );
      recs.push({
        dma,
        originMs,
        actual: r4(series.values.subarray(cut, cut + MAX_HORIZON_HOURS)),
        means: Object.fromEntries(Object.entries(forecasts).map(([id, f]) => [id, r4(f.mean)])),
        bands,
      });
      process.stderr.write(
        `${dma} ${new Date(originMs).toISOString().slice(0, 10)} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
      );
    }
    // Saved per DMA (a cut run keeps its finished DMAs).
    writeFileSync(args.save, JSON.stringify(recs));
  }
}

if (args.from) {
  // JSON keeps NaN (a gap) as null: back to NaN.
  const recs: Rec[] = (
    JSON.parse(readFileSync(args.from, 'utf8'), (_, v) => (v === null ? Number.NaN : v)) as Rec[]
  ).filter((r) => !args.dma || args.dma.split(',').includes(r.dma));
  const dmas = [...new Set(recs.map((r) => r.dma))];
  const byDma = new Map(
    dmas.map((d) => [d, recs.filter((r) => r.dma === d).sort((a, b) => a.originMs - b.originMs)]),
  );
  const combinationMean = (r: Rec): number[] =>
    r.means.ensemble!.map((_, k) => {
      const xs = MEMBERS.map((m) => r.means[m]![k]!).filter((v) => !Number.isNaN(v));
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
    });
  /** The last LOOK_BACK records before `r` (all their hours before its origin), or none if one is missing. */
  const pastOf = (r: Rec): Rec[] => {
    const mine = byDma.get(r.dma)!;
    const past = mine.filter(
      (p) => p.originMs < r.originMs && p.originMs >= r.originMs - LOOK_BACK * WEEK_MS,
    );
    return past.length === LOOK_BACK ? past : [];
  };
  const evalRecs = dmas.flatMap((d) => byDma.get(d)!.slice(LOOK_BACK));
  const origins = [...new Set(evalRecs.map((r) => r.originMs))].sort((a, b) => a - b);
  const half = (r: Rec): 'H1' | 'H2' => (origins.indexOf(r.originMs) < origins.length / 2 ? 'H1' : 'H2');

  /** The served forecast (`cycle:|point|bands`): main's, and the combination rules chosen on H1. */
  const CYCLES = [
    ...['equal', 'median', 'trimmed', 'skill', 'skill-raw'].map((p) => `cycle:|${p}|comb:blend`),
    'cycle:|equal|comb:own',
  ];
  // ---- the registry, replayed over the saved forecasts ----
  /**
   * The method the cycle's registry serves at each origin when the combination is `point` with intervals `bands`:
   * its policy (RegistryReplay, as eval:forecast replays it) fed each method's one-week backtest, which is the
   * saved forecast of the origin a week earlier (the same fit on the same data as the cycle's backtest week).
   * Records from four weeks before the first origin: the first as a backtest only, two warm-up weeks.
   */
  const served = new Map<string, Map<Rec, string>>();
  function servedBy(point: string, bands: string): Map<Rec, string> {
    const key = `${point}|${bands}`;
    const known = served.get(key);
    if (known) return known;
    const out = new Map<Rec, string>();
    for (const d of dmas) {
      const series = tableSeries(inflows, d);
      const mine = byDma.get(d)!;
      const replay = new RegistryReplay();
      for (let i = 1; i < mine.length; i++) {
        const r = mine[i]!;
        const prev = mine[i - 1]!;
        const models = new Map<string, DeployedModel>();
        for (const id of DEPLOYED_METHOD_IDS) {
          const mean = (x: Rec) => (id === 'combination' ? pointOf(x, point) : x.means[id]!);
          const b = id === 'combination' ? intervalsOf(r, bands) : r.bands[id];
          if (!b) continue;
          const f = (xs: number[]) => Float64Array.from(xs);
          models.set(id, {
            trained: {
              methodId: id,
              weeklyTotals:
                prev.originMs === r.originMs - WEEK_MS ? [bwdfTotal(scoreBwdf(prev.actual, mean(prev)))] : [],
            } as unknown as TrainedModel,
            forecast: {
              startMs: r.originMs,
              mean: f(mean(r)),
              lo80: f(b.lo80),
              hi80: f(b.hi80),
              lo95: f(b.lo95),
              hi95: f(b.hi95),
            },
          });
        }
        if (i === 1) {
          replay.record(r.originMs, models);
          continue;
        }
        const step = replay.step(historyBefore(series, r.originMs), r.originMs, models);
        if (i >= 1 + 3 && step) out.set(r, step.serving.trained.methodId);
      }
    }
    served.set(key, out);
    return out;
  }

  // ---- intervals ----
  const FACTORS = Array.from({ length: 51 }, (_, i) => 0.5 + i * 0.05);
  const scaleBand = (mean: number[], lo: number[], hi: number[], f: number) => ({
    lo: lo.map((v, k) => mean[k]! + f * (v - mean[k]!)),
    hi: hi.map((v, k) => mean[k]! + f * (v - mean[k]!)),
  });
  const pastFactor = (past: Rec[], lo: 'lo80' | 'lo95', hi: 'hi80' | 'hi95', share: number): number => {
    for (const f of FACTORS) {
      let inside = 0;
      let n = 0;
      for (const p of past) {
        const m = combinationMean(p);
        const b = scaleBand(m, p.bands['comb:own']![lo], p.bands['comb:own']![hi], f);
        p.actual.forEach((a, k) => {
          if (Number.isNaN(a)) return;
          n++;
          if (a >= b.lo[k]! && a <= b.hi[k]!) inside++;
        });
      }
      if (n && inside >= share * n) return f;
    }
    return FACTORS[FACTORS.length - 1]!;
  };
  const intervalsOf = (r: Rec, rule: string): Bands | undefined => {
    if (rule.startsWith('cycle:')) {
      const [, point = '', bands = ''] = rule.split('|');
      const by = servedBy(point, bands).get(r);
      if (by !== 'combination') return r.bands[by ?? ''];
      // The combination's bands were saved around the equal-weight mean: moved to the rule's (their widths kept).
      const b = intervalsOf(r, bands);
      const eq = combinationMean(r);
      const at = pointOf(r, point);
      const move = (xs: number[]) => xs.map((v, k) => v - eq[k]! + at[k]!);
      return b && { lo80: move(b.lo80), hi80: move(b.hi80), lo95: move(b.lo95), hi95: move(b.hi95) };
    }
    if (!rule.startsWith('comb:')) return r.bands[rule];
    if (r.bands[rule]) return r.bands[rule];
    const past = pastOf(r);
    if (!past.length) return undefined;
    const m = combinationMean(r);
    if (rule === 'comb:own×past') {
      const own = r.bands['comb:own']!;
      const b80 = scaleBand(m, own.lo80, own.hi80, pastFactor(past, 'lo80', 'hi80', 0.8));
      const b95 = scaleBand(m, own.lo95, own.hi95, pastFactor(past, 'lo95', 'hi95', 0.95));
      return { lo80: b80.lo, hi80: b80.hi, lo95: b95.lo, hi95: b95.hi };
    }
    if (rule === 'comb:past') {
      // The history up to the origin holds the actuals of the past forecasts; nothing later is needed.
      const startMs = past[0]!.originMs;
      const values = new Float64Array(((r.originMs - startMs) / HOUR_MS) | 0).fill(Number.NaN);
      for (const p of past) values.set(p.actual, (p.originMs - startMs) / HOUR_MS);
      const residuals = buildResidualModel(
        { startMs, values },
        past.map((p) => ({
          origin: (p.originMs - startMs) / HOUR_MS,
          mean: Float64Array.from(combinationMean(p)),
        })),
      );
      return bandsOf(withIntervals(r.originMs, Float64Array.from(m), residuals));
    }
    throw new RangeError(rule);
  };
  const RULES = [
    'seasonal-naive',
    ...MEMBERS,
    'comb:blend',
    'comb:own',
    'comb:own-cal',
    'comb:own×past',
    'comb:past',
    ...CYCLES,
  ];
  /** Interval score (Gneiting & Raftery 2007) of a central (1 − α) band, per hour: width + penalties outside. */
  const intervalScore = (a: number, lo: number, hi: number, alpha: number): number =>
    hi - lo + (2 / alpha) * (Math.max(0, lo - a) + Math.max(0, a - hi));
  const stats = (rs: Rec[], rule: string) => {
    let n = 0;
    let in80 = 0;
    let in95 = 0;
    let w80 = 0;
    let w95 = 0;
    let is80 = 0;
    let is95 = 0;
    const perDma = new Map<string, { n: number; in80: number; in95: number }>();
    for (const r of rs) {
      const b = intervalsOf(r, rule);
      if (!b) continue;
      const d = perDma.get(r.dma) ?? { n: 0, in80: 0, in95: 0 };
      perDma.set(r.dma, d);
      r.actual.forEach((a, k) => {
        if (Number.isNaN(a) || Number.isNaN(b.lo80[k]!)) return;
        n++;
        d.n++;
        const i80 = a >= b.lo80[k]! && a <= b.hi80[k]! ? 1 : 0;
        const i95 = a >= b.lo95[k]! && a <= b.hi95[k]! ? 1 : 0;
        in80 += i80;
        in95 += i95;
        d.in80 += i80;
        d.in95 += i95;
        w80 += b.hi80[k]! - b.lo80[k]!;
        w95 += b.hi95[k]! - b.lo95[k]!;
        is80 += intervalScore(a, b.lo80[k]!, b.hi80[k]!, 0.2);
        is95 += intervalScore(a, b.lo95[k]!, b.hi95[k]!, 0.05);
      });
    }
    return {
      n,
      cov80: in80 / n,
      cov95: in95 / n,
      w80: w80 / n,
      w95: w95 / n,
      is80: is80 / n,
      is95: is95 / n,
      perDma,
    };
  };
  const pc = (x: number) => `${(x * 100).toFixed(1)} %`;
  console.log(
    `Intervals, ${dmas.length} DMAs × ${origins.length} weekly origins (${new Date(origins[0]!).toISOString().slice(0, 10)} → ${new Date(origins.at(-1)!).toISOString().slice(0, 10)}); pooled over hours; width and interval score in L/s (lower is better)`,
  );
  console.log(
    'rule              | all: cov80  cov95  width80 width95  IS80  IS95 | H1: cov80  cov95  IS80  IS95 | H2: cov80  cov95  IS80  IS95',
  );
  for (const rule of RULES) {
    const a = stats(evalRecs, rule);
    const h1 = stats(
      evalRecs.filter((r) => half(r) === 'H1'),
      rule,
    );
    const h2 = stats(
      evalRecs.filter((r) => half(r) === 'H2'),
      rule,
    );
    console.log(
      `${rule.padEnd(26)} | ${pc(a.cov80).padStart(6)} ${pc(a.cov95).padStart(6)} ${a.w80.toFixed(2).padStart(7)} ${a.w95.toFixed(2).padStart(7)} ${a.is80.toFixed(2).padStart(5)} ${a.is95.toFixed(2).padStart(5)} | ` +
        `${pc(h1.cov80).padStart(6)} ${pc(h1.cov95).padStart(6)} ${h1.is80.toFixed(2).padStart(5)} ${h1.is95.toFixed(2).padStart(5)} | ` +
        `${pc(h2.cov80).padStart(6)} ${pc(h2.cov95).padStart(6)} ${h2.is80.toFixed(2).padStart(5)} ${h2.is95.toFixed(2).padStart(5)}`,
    );
  }
  console.log('\nper DMA, cov80 / cov95 (all weeks):');
  console.log(`rule              | ${dmas.map((d) => d.padStart(13)).join(' ')}`);
  for (const rule of RULES) {
    const a = stats(evalRecs, rule);
    console.log(
      `${rule.padEnd(26)} | ${dmas
        .map((d) => {
          const x = a.perDma.get(d);
          return x
            ? `${((x.in80 / x.n) * 100).toFixed(0)} / ${((x.in95 / x.n) * 100).toFixed(0)}`.padStart(13)
            : 'n/a'.padStart(13);
        })
        .join(' ')}`,
    );
  }

  // ---- point forecasts ----
  function combine(r: Rec, rule: string): number[] {
    const xsAt = (k: number) => MEMBERS.map((m) => r.means[m]![k]!);
    if (rule === 'equal') return combinationMean(r);
    if (rule === 'median' || rule === 'trimmed') {
      return r.means.ensemble!.map((_, k) => {
        const xs = xsAt(k)
          .filter((v) => !Number.isNaN(v))
          .sort((a, b) => a - b);
        if (xs.length < 3) return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
        if (rule === 'median') return xs[(xs.length - 1) >> 1]! * 0.5 + xs[xs.length >> 1]! * 0.5;
        const mid = xs.slice(1, -1);
        return mid.reduce((a, b) => a + b, 0) / mid.length;
      });
    }
    const past = pastOf(r);
    const mae = MEMBERS.map((m) => {
      let s = 0;
      let c = 0;
      for (const p of past)
        p.actual.forEach((a, k) => {
          const e = Math.abs(a - p.means[m]![k]!);
          if (!Number.isNaN(e)) {
            s += e;
            c++;
          }
        });
      return c ? s / c : Number.NaN;
    });
    const shrink = rule === 'skill' ? 0.5 : 0;
    const inv = mae.map((e) => (e > 0 ? 1 / e : Number.NaN));
    const ok = inv.every((v) => Number.isFinite(v));
    const sum = inv.reduce((a, b) => a + b, 0);
    const w = MEMBERS.map((_, i) =>
      ok ? shrink / MEMBERS.length + (1 - shrink) * (inv[i]! / sum) : 1 / MEMBERS.length,
    );
    return r.means.ensemble!.map((_, k) => {
      let s = 0;
      let ws = 0;
      MEMBERS.forEach((m, i) => {
        const v = r.means[m]![k]!;
        if (!Number.isNaN(v)) {
          s += w[i]! * v;
          ws += w[i]!;
        }
      });
      return ws ? s / ws : Number.NaN;
    });
  }
  const POINT = ['seasonal-naive', ...MEMBERS, 'equal', 'median', 'trimmed', 'skill', 'skill-raw', ...CYCLES];
  function pointOf(r: Rec, rule: string): number[] {
    if (rule.startsWith('cycle:')) {
      const [, point = '', bands = ''] = rule.split('|');
      const by = servedBy(point, bands).get(r);
      return by === 'combination' ? pointOf(r, point) : (r.means[by ?? ''] ?? r.means['seasonal-naive']!);
    }
    return r.means[rule] ?? combine(r, rule);
  }
  /** As eval:forecast averages: per DMA the mean score over weeks, its total against naive's, averaged over DMAs. */
  const skill = (rs: Rec[], rule: string, against: string) => {
    const rel: number[] = [];
    const worst: number[] = [];
    for (const d of dmas) {
      const mine = rs.filter((r) => r.dma === d);
      if (!mine.length) continue;
      const scores = mine.map((r) => scoreBwdf(r.actual, pointOf(r, rule)));
      const base = bwdfTotal(meanScore(mine.map((r) => scoreBwdf(r.actual, pointOf(r, against)))));
      rel.push((base - bwdfTotal(meanScore(scores))) / base);
      worst.push(Math.max(...scores.map(bwdfTotal).filter((x) => !Number.isNaN(x))));
    }
    const m = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return { rel: m(rel), worst: m(worst) };
  };
  const sp = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
  console.log(
    "\nPoint forecasts (BWDF total; vs naive / vs the ensemble, averaged over DMAs as eval:forecast; mean of the DMAs' worst week)",
  );
  console.log(
    'rule            | all: vs naive  vs ens  worst | H1: vs naive  vs ens  worst | H2: vs naive  vs ens  worst',
  );
  for (const rule of POINT) {
    const cells = [
      evalRecs,
      evalRecs.filter((r) => half(r) === 'H1'),
      evalRecs.filter((r) => half(r) === 'H2'),
    ].map((rs) => {
      const a = skill(rs, rule, 'seasonal-naive');
      const e = skill(rs, rule, 'ensemble');
      return `${sp(a.rel).padStart(8)} ${sp(e.rel).padStart(7)} ${a.worst.toFixed(2).padStart(6)}`;
    });
    console.log(`${rule.padEnd(26)} | ${cells.join(' | ')}`);
  }
  for (const c of CYCLES) {
    const [, point = '', bands = ''] = c.split('|');
    const counts = new Map<string, number>();
    for (const r of evalRecs) {
      const by = servedBy(point, bands).get(r) ?? 'none';
      counts.set(by, (counts.get(by) ?? 0) + 1);
    }
    console.log(`${c}: DMA-weeks served: ${[...counts].map(([id, n]) => `${id} ${n}`).join(', ')}`);
  }
}
