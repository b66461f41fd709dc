import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSimulator, DAY_MS, HOUR_MS, isHolidayOrSunday, localDayOf, MINUTE_MS } from './index.ts';

const T0 = Date.UTC(2025, 2, 24); // Monday; the clocks go forward on Sunday 30 March
const WEEK = 7 * DAY_MS;
// Physics alone: no events, no faults, no missing values.
const calm = createSimulator({
  seed: 21,
  nodes: 48,
  missingValueShare: 0,
  eventRates: {
    leak: 0,
    burst: 0,
    flatline: 0,
    gap: 0,
    silent: 0,
    spike: 0,
    outOfRange: 0,
    negativeFlow: 0,
    lowChlorine: 0,
    highTurbidity: 0,
  },
  ingestion: { duplicateShare: 0 },
});
const nodes = calm.network().nodes;
const ofKind = (kind: string) => nodes.filter((n) => n.kind === kind);
const romeFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Rome',
  hour: 'numeric',
  hourCycle: 'h23',
});
const romeHour = (t: number) => Number(romeFormat.format(t));
const mean = (xs: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < xs.length; i++) sum += xs[i]!;
  return sum / xs.length;
};

function correlation(x: Float64Array, y: Float64Array): number {
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

describe('physics', () => {
  it('has a night minimum around 03–04 local time, well below the daytime mean, at every inlet', () => {
    for (const inlet of ofKind('inlet')) {
      const c = calm.columns(inlet.id, T0, T0 + WEEK, 15 * MINUTE_MS);
      const night: number[] = [];
      const day: number[] = [];
      const hourly = new Array<number[]>(24).fill([]).map(() => [] as number[]);
      for (let i = 0; i < c.length; i++) {
        const h = romeHour(c.ts[i]!);
        hourly[h]!.push(c.values.flow![i]!);
        if (h >= 2 && h < 5) night.push(c.values.flow![i]!);
        if (h >= 7 && h < 22) day.push(c.values.flow![i]!);
      }
      assert.ok(mean(night) < 0.7 * mean(day), `${inlet.id}: night ${mean(night)} vs day ${mean(day)}`);
      const means = hourly.map(mean);
      const minHour = means.indexOf(Math.min(...means));
      assert.ok(minHour >= 2 && minHour <= 5, `${inlet.id}: minimum at ${minHour}:00`);
    }
  });

  it('makes weekends and holidays differ from weekdays', () => {
    // Easter Monday 2025 (21 April) is a holiday: it behaves like the Sunday before, not like the Tuesday after.
    const easterMonday = localDayOf(Date.UTC(2025, 3, 21, 12));
    assert.ok(isHolidayOrSunday(easterMonday) && !isHolidayOrSunday(easterMonday + 1));
    assert.ok(isHolidayOrSunday(localDayOf(Date.UTC(2025, 7, 15, 12)))); // Ferragosto
    const customer = ofKind('customer')[0]!.id; // residential group
    const morning = (dayStartUtc: number) => {
      const c = calm.columns(customer, dayStartUtc + 5 * HOUR_MS, dayStartUtc + 7 * HOUR_MS); // 07:00–09:00 CEST
      return mean(c.values.flow!);
    };
    const sunday = morning(Date.UTC(2025, 3, 20));
    const monday = morning(Date.UTC(2025, 3, 21));
    const tuesday = morning(Date.UTC(2025, 3, 22));
    assert.ok(Math.abs(monday - sunday) / sunday < 0.1, `holiday ${monday} vs sunday ${sunday}`);
    assert.ok(tuesday > 1.3 * monday, `tuesday ${tuesday} vs holiday ${monday}`);
  });

  it('drops pressure as inlet flow rises', () => {
    for (const p of ofKind('pressure')) {
      const inlet = `${p.districtId}-inlet-1`;
      const q = calm.columns(inlet, T0, T0 + 2 * DAY_MS, 5 * MINUTE_MS).values.flow!;
      const pr = calm.columns(p.id, T0, T0 + 2 * DAY_MS, 5 * MINUTE_MS).values.pressure!;
      const r = correlation(q, pr);
      assert.ok(r < -0.7, `${p.id}: correlation ${r}`);
      assert.ok(Math.min(...pr) > 0.5 && Math.max(...pr) < 10, `${p.id}: pressure in bar`);
    }
  });

  it('reads exact zeros when a pump is scheduled off, and flow when on', () => {
    for (const pump of ofKind('pump')) {
      const c = calm.columns(pump.id, T0, T0 + 2 * DAY_MS);
      let off = 0;
      let on = 0;
      for (let i = 0; i < c.length; i++) {
        const q = c.values.flow![i]!;
        if (calm.pumpRunning(pump.id, c.ts[i]!)) {
          on++;
          assert.ok(q > 0, `${pump.id} running with flow ${q}`);
        } else {
          off++;
          assert.equal(q, 0);
          assert.ok(c.values.pressure![i]! > 0);
        }
      }
      assert.ok(off > 60 && on > 60, `${pump.id}: ${on} on, ${off} off`);
    }
  });

  it('keeps volume registers non-decreasing, and consistent with flow', () => {
    for (const node of nodes.filter((n) => ['inlet', 'outlet', 'customer'].includes(n.kind))) {
      const c = calm.columns(node.id, T0, T0 + WEEK);
      const v = c.values.volume!;
      for (let i = 1; i < c.length; i++) assert.ok(v[i]! >= v[i - 1]!, `${node.id} at ${c.ts[i]}`);
      // Σ flow·Δt over the week ≈ volume difference (flow in L/s, volume in m³).
      const integrated = (mean(c.values.flow!) * (c.ts[c.length - 1]! - c.ts[0]!)) / 1e6;
      const registered = v[c.length - 1]! - v[0]!;
      assert.ok(
        Math.abs(integrated - registered) / registered < 0.01,
        `${node.id}: ${integrated} vs ${registered}`,
      );
    }
  });

  it('balances: inlets − outlets = customers + leakage, as the ground truth says', () => {
    const volumeAt = (id: string, t: number) => calm.columns(id, t, t + 1).values.volume![0]!;
    for (const d of calm.network().districts) {
      const from = T0;
      const to = T0 + WEEK;
      const truth = calm.waterBalance(d.id, from, to);
      const sum = (kind: string) =>
        nodes
          .filter((n) => n.districtId === d.id && n.kind === kind)
          .reduce((a, n) => a + volumeAt(n.id, to) - volumeAt(n.id, from), 0);
      assert.ok(Math.abs(sum('inlet') - truth.inflowM3) < 0.01, d.id);
      assert.ok(Math.abs(sum('outlet') - truth.exportedM3) < 0.01, d.id);
      assert.ok(Math.abs(sum('customer') - truth.authorisedM3) < 0.01, d.id);
      assert.ok(Math.abs(truth.systemInputM3 - truth.authorisedM3 - truth.realLossesM3) < 1e-6);
      const lossShare = truth.realLossesM3 / truth.systemInputM3;
      assert.ok(lossShare > 0.03 && lossShare < 0.5, `${d.id}: losses ${lossShare}`);
    }
  });

  it('cycles the service reservoir: fills at night, draws at the peaks', () => {
    for (const tank of ofKind('tank')) {
      const c = calm.columns(tank.id, T0, T0 + DAY_MS, 10 * MINUTE_MS);
      const night: number[] = [];
      const morning: number[] = [];
      for (let i = 0; i < c.length; i++) {
        const h = romeHour(c.ts[i]!);
        if (h >= 1 && h < 5) night.push(c.values.flow![i]!);
        if (h >= 8 && h < 11) morning.push(c.values.flow![i]!);
      }
      assert.ok(mean(night) > 0 && mean(morning) < 0, tank.id);
      assert.ok(Math.min(...c.values.volume!) > 0);
    }
  });

  it('keeps water quality in its usual ranges', () => {
    for (const q of ofKind('quality')) {
      const c = calm.columns(q.id, T0, T0 + WEEK, 10 * MINUTE_MS);
      const v = c.values;
      assert.ok(Math.min(...v.chlorine!) > 0.1 && Math.max(...v.chlorine!) < 0.8, `${q.id} chlorine`);
      assert.ok(Math.min(...v.turbidity!) > 0 && Math.max(...v.turbidity!) < 1, `${q.id} turbidity`);
      assert.ok(Math.min(...v.ph!) > 7.1 && Math.max(...v.ph!) < 7.9, `${q.id} pH`);
      assert.ok(Math.min(...v.temperature!) > 5 && Math.max(...v.temperature!) < 25, `${q.id} temperature`);
    }
  });

  it('follows the seasons: warmer water and more demand in July than in January', () => {
    const inlet = 'd01-inlet-1';
    const week = (t: number) => calm.columns(inlet, t, t + WEEK, HOUR_MS);
    const jan = week(Date.UTC(2025, 0, 13));
    const jul = week(Date.UTC(2025, 6, 14));
    assert.ok(mean(jul.values.temperature!) > mean(jan.values.temperature!) + 8);
    assert.ok(mean(jul.values.flow!) > mean(jan.values.flow!) * 1.1);
  });
});
