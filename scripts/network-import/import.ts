/**
 * A tenant's hydraulic model imported for leak localisation: its registered pressure points mapped to the
 * model's nodes by an id pattern, every junction's sensitivity simulated (`sensitivity.ts`) and stored in
 * leak_sensitivity, replacing the tenant's previous import. `npm run network:import` and `eval:leaks` call it.
 */
import type { Sql } from '../../shared/adapters/postgres/client.ts';
import { replaceLeakSensitivity } from '../../shared/adapters/postgres/leak-sensitivity.ts';
import { loadNetwork } from '../../shared/adapters/postgres/registry.ts';
import { type SensitivityOptions, simulateSensitivity } from './sensitivity.ts';

export interface ImportOptions extends Omit<SensitivityOptions, 'sensors'> {
  tenantId: string;
  /**
   * How our pressure points' ids name the model's nodes: `{node}` stands for the model's node id
   * (`P-{node}`: our P-n54 measures the model's n54). Default `{node}`: the same ids.
   */
  idPattern?: string;
}

/** The model node each registered pressure point measures, by the pattern (points that match none are left out). */
export function mapSensors(pointIds: readonly string[], idPattern = '{node}'): Map<string, string> {
  const [head, tail, ...more] = idPattern.split('{node}');
  if (head === undefined || tail === undefined || more.length > 0) {
    throw new Error(`--id-pattern must contain {node} once: ${idPattern}`);
  }
  const out = new Map<string, string>();
  for (const id of [...pointIds].sort()) {
    if (id.length > head.length + tail.length && id.startsWith(head) && id.endsWith(tail)) {
      out.set(id.slice(head.length, id.length - tail.length), id);
    }
  }
  return out;
}

export interface ImportResult {
  candidates: number;
  sensors: number;
  /** Registered pressure points the pattern maps to no node of the model. */
  unmapped: string[];
}

export async function importNetwork(sql: Sql, options: ImportOptions): Promise<ImportResult> {
  const network = await loadNetwork(sql, options.tenantId);
  const points = network.nodes.filter((n) => n.kind === 'pressure').map((n) => n.id);
  const sensors = mapSensors(points, options.idPattern);
  if (sensors.size === 0) {
    throw new Error(
      `no pressure point of tenant ${options.tenantId} matches --id-pattern ${options.idPattern ?? '{node}'} (${points.length} registered)`,
    );
  }
  const { nodes, missing } = await simulateSensitivity({ ...options, sensors });
  const gone = new Set(missing);
  const mapped = new Set([...sensors.values()].filter((s) => !gone.has(s)));
  if (mapped.size === 0) {
    throw new Error(`none of the ${sensors.size} mapped pressure points is a node of the model`);
  }
  const stored = await replaceLeakSensitivity(sql, options.tenantId, nodes);
  return { candidates: stored, sensors: mapped.size, unmapped: points.filter((p) => !mapped.has(p)) };
}
