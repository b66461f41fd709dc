import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KIND_METRICS, type NodeKind } from '../domain/readings.ts';
import { createSimulator, createSimulatorSource, SIM_TIMEZONE } from './index.ts';

describe('network layout', () => {
  const sim = createSimulator({ seed: 7, nodes: 48 });
  const net = sim.network();

  it('has about the requested number of nodes, in districts of about twelve', () => {
    assert.ok(Math.abs(net.nodes.length - 48) <= 2, `got ${net.nodes.length} nodes`);
    assert.equal(net.districts.length, 4);
    const big = createSimulator({ seed: 7, nodes: 1000 }).network();
    assert.ok(Math.abs(big.nodes.length - 1000) <= 10, `got ${big.nodes.length} nodes`);
    assert.equal(createSimulator({ seed: 7, nodes: 60, districts: 3 }).network().districts.length, 3);
  });

  it('gives every district an inlet, pressure point, tank, quality station, customers and a pump', () => {
    const required: NodeKind[] = ['inlet', 'pressure', 'tank', 'quality', 'customer', 'pump'];
    for (const d of net.districts) {
      const kinds = new Set(net.nodes.filter((n) => n.districtId === d.id).map((n) => n.kind));
      for (const k of required) assert.ok(kinds.has(k), `${d.id} lacks a ${k}`);
      const inlets = net.nodes.filter((n) => n.districtId === d.id && n.kind === 'inlet').length;
      assert.ok(inlets === 1 || inlets === 2);
    }
  });

  it('fills district engineering data with plausible values', () => {
    for (const d of net.districts) {
      assert.equal(d.timezone, SIM_TIMEZONE);
      assert.equal(d.tenantId, 'default');
      assert.ok(d.connections! >= 900 && d.connections! <= 5100);
      assert.ok(d.mainsLengthKm! > 5 && d.mainsLengthKm! < 200);
      assert.ok(d.privatePipeKm! > 1 && d.privatePipeKm! < 100);
      assert.ok(d.avgPressureM! > 25 && d.avgPressureM! < 80, `avg pressure ${d.avgPressureM} m`);
    }
  });

  it('uses readable, unique ids and the metrics of each kind', () => {
    const ids = new Set(net.nodes.map((n) => n.id));
    assert.equal(ids.size, net.nodes.length);
    for (const n of net.nodes) {
      assert.match(n.id, /^d\d{2}-(inlet|outlet|pressure|tank|quality|customer|pump)-\d+$/);
      assert.ok(n.id.startsWith(`${n.districtId}-${n.kind}-`));
      assert.deepEqual(n.metrics, KIND_METRICS[n.kind]);
      assert.ok(n.latitude! > 41 && n.latitude! < 43 && n.longitude! > 11 && n.longitude! < 14);
    }
    assert.ok(ids.has('d01-inlet-1') && ids.has('d03-pump-1'));
  });

  it('is the same for the same seed and differs for another seed', () => {
    assert.deepEqual(createSimulator({ seed: 7, nodes: 48 }).network(), net);
    assert.notDeepEqual(createSimulator({ seed: 8, nodes: 48 }).network(), net);
  });

  it('carries the tenant and is served by a ReadingSource named simulator', async () => {
    const source = createSimulatorSource({ seed: 7, nodes: 20, tenantId: 'acme' });
    assert.equal(source.name, 'simulator');
    const n = await source.network();
    assert.equal(n.tenantId, 'acme');
    assert.ok(n.nodes.every((x) => x.tenantId === 'acme') && n.districts.every((x) => x.tenantId === 'acme'));
  });

  it('rejects nonsense options', () => {
    assert.throws(() => createSimulator({ seed: 1.5, nodes: 10 }), RangeError);
    assert.throws(() => createSimulator({ seed: 1, nodes: 0 }), RangeError);
    assert.throws(() => createSimulator({ seed: 1, nodes: 10, ingestion: { lateShare: 2 } }), RangeError);
    assert.throws(() => createSimulator({ seed: 1, nodes: 10, eventRates: { burst: -1 } }), RangeError);
  });
});
