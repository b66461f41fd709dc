/**
 * The host's own ceiling: the bare Hono app of bare-server.ts (same bytes from memory, no auth, no
 * tiers), registered as the HTTP function `bare` and served by the functions framework's own server
 * (`functions-framework --target bare --source bench/lib/bare-function.ts`), exactly as functions/api
 * is. BENCH_BODIES names the JSON file of bodies ({ metrics: { nodeId: body }, dashboard: body }).
 */
import { readFileSync } from 'node:fs';
import * as ff from '@google-cloud/functions-framework';
import { getRequestListener } from '@hono/node-server';
import { bareApp } from './bare-server.ts';

const bodies = JSON.parse(readFileSync(process.env.BENCH_BODIES!, 'utf8'));
ff.http('bare', getRequestListener(bareApp(bodies).fetch));
