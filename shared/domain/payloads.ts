/** The JSON shapes of a node's served views, shared by the cycle (which writes them) and the API. */
import type { NodeInfo } from './readings.ts';

export interface LatestValue {
  value: number;
  ts: number;
}
export type LatestBody = Record<string, LatestValue>;

/** A node's stored latest values (its node_latest row): the latest reading time, and the body. */
export interface StoredLatest {
  tsMs: number;
  body: LatestBody;
}

export const nodeMetadata = (node: NodeInfo) => ({
  id: node.id,
  name: node.name,
  kind: node.kind,
  districtId: node.districtId,
  latitude: node.latitude,
  longitude: node.longitude,
  metrics: [...node.metrics],
});

export const latestPayload = (nodeId: string, asOfMs: number, latest: LatestBody) => ({
  nodeId,
  asOf: new Date(asOfMs).toISOString(),
  values: Object.fromEntries(
    Object.entries(latest).map(([m, v]) => [m, { value: v.value, ts: new Date(v.ts).toISOString() }]),
  ),
});
