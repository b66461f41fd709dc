/** The network schematic: nodes placed by their coordinates, districts as convex hulls, links to each node. */

import { worstSeverity } from '../format.ts';
import type { Anomaly, NodeInfo } from '../types.ts';

const W = 640;
const H = 440;
const PAD = 36;

type P = [number, number];

/** Andrew's monotone chain. */
function hull(points: P[]): P[] {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts;
  const cross = (o: P, a: P, b: P) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: P[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0)
      lower.pop();
    lower.push(p);
  }
  const upper: P[] = [];
  for (const p of pts.reverse()) {
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0)
      upper.pop();
    upper.push(p);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

export function Schematic(props: { nodes: NodeInfo[]; anomalies: Anomaly[] }) {
  const placed = props.nodes.filter((n) => n.latitude !== null && n.longitude !== null);
  if (placed.length === 0) return <p class="muted">The nodes have no coordinates to draw.</p>;
  const lats = placed.map((n) => n.latitude!);
  const lons = placed.map((n) => n.longitude!);
  const [minLat, maxLat, minLon, maxLon] = [
    Math.min(...lats),
    Math.max(...lats),
    Math.min(...lons),
    Math.max(...lons),
  ];
  const k = Math.cos(((minLat + maxLat) / 2) * (Math.PI / 180));
  const spanX = Math.max((maxLon - minLon) * k, 1e-6);
  const spanY = Math.max(maxLat - minLat, 1e-6);
  const scale = Math.min((W - 2 * PAD) / spanX, (H - 2 * PAD) / spanY);
  const pos = (n: NodeInfo): P => [
    PAD + (n.longitude! - minLon) * k * scale + (W - 2 * PAD - spanX * scale) / 2,
    H - PAD - (n.latitude! - minLat) * scale - (H - 2 * PAD - spanY * scale) / 2,
  ];
  const byNode = new Map<string, Anomaly[]>();
  for (const a of props.anomalies) if (a.nodeId) byNode.set(a.nodeId, [...(byNode.get(a.nodeId) ?? []), a]);
  const districts = new Map<string, P[]>();
  for (const n of placed)
    if (n.districtId) districts.set(n.districtId, [...(districts.get(n.districtId) ?? []), pos(n)]);
  return (
    <figure class="schematic-box">
      <figcaption class="sr-only">{`Schematic of ${placed.length} nodes in ${districts.size} districts; each node links to its page`}</figcaption>
      <svg class="schematic" viewBox={`0 0 ${W} ${H}`} aria-labelledby="schematic-title">
        <title id="schematic-title">Network schematic</title>
        {[...districts].map(([id, pts]) => {
          const h = hull(pts);
          const cx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
          const top = Math.min(...pts.map((p) => p[1]));
          return (
            <g key={id} class="district">
              <polygon points={h.map((p) => p.join(',')).join(' ')} />
              <text x={cx} y={Math.max(12, top - 12)} text-anchor="middle">
                {id}
              </text>
            </g>
          );
        })}
        {placed.map((n) => {
          const [x, y] = pos(n);
          const list = byNode.get(n.id) ?? [];
          const sev = worstSeverity(list.filter((a) => a.status === 'open'));
          const silent = list.some((a) => a.type === 'silent' || a.type === 'gap');
          const text = `${n.name} (${n.kind})${sev ? `, worst open anomaly ${sev}` : ', no open anomaly'}${silent ? ', sensor silent' : ''}`;
          return (
            <a key={n.id} href={`#/node/${encodeURIComponent(n.id)}`} aria-label={text} class="node-link">
              <title>{text}</title>
              <circle
                cx={x}
                cy={y}
                r={n.kind === 'inlet' ? 9 : 6}
                data-severity={sev ?? 'none'}
                data-silent={silent ? 'true' : undefined}
                data-node={n.id}
              />
            </a>
          );
        })}
      </svg>
    </figure>
  );
}
