/**
 * The network schematic: nodes placed by their coordinates (Web Mercator), districts as convex hulls,
 * links to each node. It needs nothing from outside (offline, the local run). Where the server
 * configured map tiles, they are drawn beneath it as SVG images on the same projection (a few lines
 * of arithmetic instead of a map library's 40+ KB: the view neither pans nor zooms), with the
 * provider's attribution and a switch to hide them.
 */
import { useMemo, useState } from 'preact/hooks';
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

/** The map tiles the server configured (CONSOLE_TILE_URL), named in the page's `<meta>` tags; none by default. */
export function tileLayer(): { url: string; attribution: string } | null {
  const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content;
  const url = meta('wnm-tile-url');
  return url ? { url, attribution: meta('wnm-tile-attribution') ?? '' } : null;
}

/** Web Mercator, as a share of the world (0–1 each way, y down): what XYZ tiles are cut by. */
const mercX = (lon: number) => (lon + 180) / 360;
const mercY = (lat: number) => {
  const s = Math.sin((lat * Math.PI) / 180);
  return 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
};
const MAX_TILES = 64;

/**
 * The tiles under a view of the world: [u0, v0] is its top-left corner in Mercator shares, `scale`
 * the drawing's units per share. The zoom whose tiles are closest to 256 units wide; at most 64 tiles.
 */
function tilesFor(template: string, u0: number, v0: number, scale: number) {
  const z = Math.max(0, Math.min(19, Math.round(Math.log2(scale / 256))));
  const n = 2 ** z;
  const size = scale / n;
  const out: { href: string; x: number; y: number; size: number }[] = [];
  for (
    let ty = Math.max(0, Math.floor(v0 * n));
    ty <= Math.min(n - 1, Math.floor((v0 + H / scale) * n));
    ty++
  ) {
    for (let tx = Math.floor(u0 * n); tx <= Math.floor((u0 + W / scale) * n); tx++) {
      const x = ((tx % n) + n) % n;
      const href = template.replace('{z}', String(z)).replace('{x}', String(x)).replace('{y}', String(ty));
      out.push({ href, x: (tx / n - u0) * scale, y: (ty / n - v0) * scale, size });
      if (out.length >= MAX_TILES) return out;
    }
  }
  return out;
}

export function Schematic(props: { nodes: NodeInfo[]; anomalies: Anomaly[] }) {
  const tiles = useMemo(tileLayer, []);
  const [showTiles, setShowTiles] = useState(true);
  const placed = props.nodes.filter((n) => n.latitude !== null && n.longitude !== null);
  if (placed.length === 0) return <p class="muted">The nodes have no coordinates to draw.</p>;
  const xs = placed.map((n) => mercX(n.longitude!));
  const ys = placed.map((n) => mercY(n.latitude!));
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const spanX = Math.max(maxX - minX, 1e-9);
  const spanY = Math.max(maxY - minY, 1e-9);
  const scale = Math.min((W - 2 * PAD) / spanX, (H - 2 * PAD) / spanY);
  const ox = PAD + (W - 2 * PAD - spanX * scale) / 2;
  const oy = PAD + (H - 2 * PAD - spanY * scale) / 2;
  const pos = (n: NodeInfo): P => [
    ox + (mercX(n.longitude!) - minX) * scale,
    oy + (mercY(n.latitude!) - minY) * scale,
  ];
  const background =
    tiles && showTiles ? tilesFor(tiles.url, minX - ox / scale, minY - oy / scale, scale) : [];
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
        {background.length > 0 ? (
          <g class="tiles">
            {background.map((t) => (
              <image key={t.href} href={t.href} x={t.x} y={t.y} width={t.size + 0.5} height={t.size + 0.5} />
            ))}
          </g>
        ) : null}
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
      {tiles ? (
        <div class="map-controls">
          <label>
            <input
              type="checkbox"
              checked={showTiles}
              onChange={(e) => setShowTiles((e.target as HTMLInputElement).checked)}
            />{' '}
            Map background
          </label>
          <span class="attribution">Map tiles: {tiles.attribution}</span>
        </div>
      ) : null}
    </figure>
  );
}
