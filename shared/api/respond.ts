/** Sends a tiered JSON value with the headers that say where it came from. */
import type { Context } from 'hono';
import { ApiProblem } from './problem.ts';
import { type ReadPathDeps, readThrough, serverTiming } from './tiers.ts';

export async function sendTiered(
  c: Context,
  deps: ReadPathDeps,
  key: string,
  load: () => Promise<unknown | null>,
  notFound: string,
): Promise<Response> {
  const value = await readThrough(deps, key, load);
  if (!value) throw new ApiProblem(404, 'Not Found', notFound);
  c.header('X-Cache-Tier', value.tier);
  c.header('Server-Timing', serverTiming(value.timings));
  return c.body(value.text, 200, { 'Content-Type': 'application/json; charset=utf-8' });
}
