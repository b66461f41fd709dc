/**
 * The host's own ceiling: the bare Hono app of bare-server.ts (same bytes from memory, no auth, no
 * tiers), registered as the HTTP function `bare` and served by the functions framework's own server
 * (`functions-framework --target bare --source bench/lib/bare-function.ts`), plugged in as functions/api
 * is: no Node Domain per request (shared/request-domains.ts) and, with BENCH_FRONT=1, reads answered in
 * front of the framework's Express app (shared/framework-front.ts). BENCH_BODIES names the JSON file of
 * bodies ({ metrics: { nodeId: body }, dashboard: body }).
 */
import { readFileSync } from 'node:fs';
import * as ff from '@google-cloud/functions-framework';
import { getRequestListener } from '@hono/node-server';
import { frontOfFramework } from '../../shared/framework-front.ts';
import { withoutRequestDomains } from '../../shared/request-domains.ts';
import { bareApp } from './bare-server.ts';

withoutRequestDomains();
const bodies = JSON.parse(readFileSync(process.env.BENCH_BODIES!, 'utf8'));
const listener = getRequestListener(bareApp(bodies).fetch);
ff.http('bare', process.env.BENCH_FRONT === '1' ? frontOfFramework(listener) : listener);
