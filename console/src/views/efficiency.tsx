/**
 * Network efficiency: the IWA water balance per district and network-wide for a day or a month
 * (the latest, or a chosen period), NRW % and per connection per day, ILI, and the trend of the
 * last 14 days (NRW % and minimum night flow per district).
 */
import { useMemo, useState } from 'preact/hooks';
import { api, call, given } from '../api.ts';
import { align, type ChartSpec, TimeChart } from '../chart.tsx';
import { num } from '../format.ts';
import { useLoad } from '../hooks.ts';
import type { Balance, Efficiency } from '../types.ts';
import { Loadable, Section } from './common.tsx';

const DAY = 86_400_000;
const COLORS = ['#1f5fa8', '#b35900', '#2e7d32', '#8e24aa', '#00838f', '#6d4c41'];
/** The districts' balances, then the network's (the document lets each be null). */
const balances = (e: Efficiency): Balance[] =>
  [...e.districts, e.network].filter((b): b is Balance => b !== null && b !== undefined);
const f = (b: Balance, k: string) => (typeof b.figures[k] === 'number' ? (b.figures[k] as number) : null);

function BalanceTable(props: { data: Efficiency }) {
  const rows = balances(props.data);
  return (
    <table>
      <caption class="sr-only">Water balance per district and network-wide</caption>
      <thead>
        <tr>
          <th scope="col">District</th>
          <th scope="col">System input m³</th>
          <th scope="col">Authorised m³</th>
          <th scope="col">Water losses m³</th>
          <th scope="col">NRW m³</th>
          <th scope="col">NRW %</th>
          <th scope="col">NRW L/conn/day</th>
          <th scope="col">Real losses m³</th>
          <th scope="col">Min night flow m³/h</th>
          <th scope="col">ILI</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((b) => (
          <tr key={b.districtId ?? '*'} class={b.districtId ? '' : 'total'}>
            <th scope="row">{b.districtId ?? 'network'}</th>
            <td>{num(f(b, 'systemInputM3'), 1)}</td>
            <td>{num(f(b, 'authorisedConsumptionM3'), 1)}</td>
            <td>{num(f(b, 'waterLossesM3'), 1)}</td>
            <td>{num(f(b, 'nonRevenueWaterM3'), 1)}</td>
            <td>{num(f(b, 'nrwPercent'), 1)}</td>
            <td>{num(f(b, 'nrwLPerConnDay'), 0)}</td>
            <td>{num(f(b, 'realLossesM3'), 1)}</td>
            <td>{num(f(b, 'minNightFlowM3h'), 2)}</td>
            <td>{num(f(b, 'ili'), 2)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Trend(props: { latest: string }) {
  const labels = useMemo(() => {
    const end = Date.parse(`${props.latest}T00:00:00Z`);
    return Array.from({ length: 14 }, (_, i) => new Date(end - (13 - i) * DAY).toISOString().slice(0, 10));
  }, [props.latest]);
  const days = useLoad(
    async (signal) =>
      Promise.all(
        labels.map((label) =>
          call(
            api.GET('/api/v1/network/efficiency', { params: { query: { period: 'day', label } }, signal }),
          ).catch(() => null),
        ),
      ),
    [labels.join()],
  );
  const specs = useMemo(() => {
    if (!days.data) return null;
    const byDistrict = new Map<string, { t: number; nrw: number | null; mnf: number | null }[]>();
    days.data.forEach((d, i) => {
      if (!d) return;
      const t = Date.parse(`${labels[i]}T00:00:00Z`) / 1000;
      for (const b of balances(d)) {
        const key = b.districtId ?? 'network';
        byDistrict.set(key, [
          ...(byDistrict.get(key) ?? []),
          { t, nrw: f(b, 'nrwPercent'), mnf: f(b, 'minNightFlowM3h') },
        ]);
      }
    });
    const keys = [...byDistrict.keys()];
    const make = (k: 'nrw' | 'mnf', yLabel: string): ChartSpec => {
      const { x, ys } = align(keys.map((d) => byDistrict.get(d)!.map((p) => ({ t: p.t, v: p[k] }))));
      return {
        x,
        series: keys.map((d, i) => ({
          label: d,
          values: ys[i]!,
          color: COLORS[i % COLORS.length]!,
          width: d === 'network' ? 2.5 : 1.5,
        })),
        yLabel,
        height: 220,
      };
    };
    return { nrw: make('nrw', 'NRW %'), mnf: make('mnf', 'm³/h') };
  }, [days.data]);
  return (
    <Section title="Last 14 days">
      <Loadable state={days} what="the daily balances">
        {() =>
          specs && specs.nrw.x.length > 0 ? (
            <>
              <h4>NRW %</h4>
              <TimeChart spec={specs.nrw} label="Non-revenue water per day and district" />
              <h4>Minimum night flow</h4>
              <TimeChart spec={specs.mnf} label="Minimum night flow per day and district" />
            </>
          ) : (
            <p class="muted">No daily balances in the last 14 days.</p>
          )
        }
      </Loadable>
    </Section>
  );
}

export function EfficiencyView() {
  const [period, setPeriod] = useState<'day' | 'month'>('day');
  const [chosen, setChosen] = useState('');
  const data = useLoad(
    (signal) =>
      call(
        api.GET('/api/v1/network/efficiency', {
          params: { query: { period, label: given(chosen) } },
          signal,
        }),
      ),
    [period, chosen],
  );
  const latest = data.data?.network?.periodLabel ?? data.data?.districts[0]?.periodLabel;
  return (
    <div data-ready={data.data ? 'true' : undefined}>
      <h2>Network efficiency</h2>
      <form class="controls" onSubmit={(e) => e.preventDefault()} aria-label="Period">
        <label>
          Period{' '}
          <select
            value={period}
            onChange={(e) => {
              setPeriod((e.target as HTMLSelectElement).value as 'day' | 'month');
              setChosen('');
            }}
          >
            <option value="day">day</option>
            <option value="month">month</option>
          </select>
        </label>
        <label>
          {period === 'day' ? 'Day (YYYY-MM-DD)' : 'Month (YYYY-MM)'}{' '}
          <input
            type="text"
            value={chosen}
            placeholder={latest ?? 'latest'}
            pattern={period === 'day' ? '\\d{4}-\\d{2}-\\d{2}' : '\\d{4}-\\d{2}'}
            onChange={(e) => setChosen((e.target as HTMLInputElement).value)}
          />
        </label>
      </form>
      <Section title={`Water balance${latest ? `, ${period} ${latest}` : ''}`}>
        <Loadable state={data} what="the water balance">
          {(d) =>
            d.network || d.districts.length ? (
              <BalanceTable data={d} />
            ) : (
              <p class="muted">No water balance for this period yet.</p>
            )
          }
        </Loadable>
        <p class="muted">
          ILI = current annual real losses / unavoidable annual real losses; a dash where the district's data
          does not allow a figure.
        </p>
      </Section>
      {period === 'day' && latest && /^\d{4}-\d{2}-\d{2}$/.test(latest) ? <Trend latest={latest} /> : null}
    </div>
  );
}
