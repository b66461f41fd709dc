/**
 * Map tiles under the console's schematic, where configured: an XYZ template (`{z}/{x}/{y}`, Web
 * Mercator, 256-pixel tiles, as OpenStreetMap-style servers serve them) and the attribution its
 * provider requires. Without one the console draws the schematic alone and asks nothing of anyone
 * (offline, the local run). The template's origin is the only one added to the console's CSP
 * (`img-src`); the browser fetches the tiles, the API never does.
 */

export interface TileLayer {
  /** The template, e.g. `https://tiles.example/{z}/{x}/{y}.png`. */
  url: string;
  /** Its origin, e.g. `https://tiles.example` (what the CSP allows). */
  origin: string;
  /** Shown under the map, e.g. `© OpenStreetMap contributors`. */
  attribution: string;
}

export class TileConfigError extends Error {
  override name = 'TileConfigError';
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The tile layer of CONSOLE_TILE_URL and CONSOLE_TILE_ATTRIBUTION (undefined when no URL), or a
 * TileConfigError saying what is wrong: not an https URL (http only on loopback, for a local tile
 * server), credentials in it, a placeholder missing or unknown, no attribution.
 */
export function parseTileLayer(
  url: string | undefined,
  attribution: string | undefined,
): TileLayer | undefined {
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url.replaceAll(/\{[a-z]\}/g, '0'));
  } catch {
    throw new TileConfigError('CONSOLE_TILE_URL: not a URL');
  }
  const local = LOOPBACK.has(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && local)) {
    throw new TileConfigError('CONSOLE_TILE_URL: must be https:// (http:// only for localhost)');
  }
  if (parsed.username || parsed.password) throw new TileConfigError('CONSOLE_TILE_URL: no credentials in it');
  for (const p of ['{z}', '{x}', '{y}']) {
    if (!url.includes(p)) throw new TileConfigError(`CONSOLE_TILE_URL: must contain ${p}`);
  }
  const unknown = [...url.matchAll(/\{([^}]*)\}/g)].map((m) => m[0]).filter((p) => !/^\{[zxy]\}$/.test(p));
  if (unknown.length > 0) {
    throw new TileConfigError(
      `CONSOLE_TILE_URL: only {z}, {x} and {y} are replaced, not ${unknown.join(', ')}`,
    );
  }
  const origin = new URL(url.split('{')[0]!).origin;
  if (origin !== parsed.origin) throw new TileConfigError('CONSOLE_TILE_URL: a placeholder in the host');
  const text = attribution?.trim();
  if (!text) throw new TileConfigError('CONSOLE_TILE_ATTRIBUTION: required with CONSOLE_TILE_URL');
  if (text.length > 300) throw new TileConfigError('CONSOLE_TILE_ATTRIBUTION: at most 300 characters');
  return { url, origin, attribution: text };
}
