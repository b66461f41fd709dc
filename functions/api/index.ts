/**
 * The HTTP API in the functions framework: the same Hono app that runs locally on
 * @hono/node-server. It loads no BigQuery or Pub/Sub client.
 */
import * as ff from '@google-cloud/functions-framework';
import { getRequestListener } from '@hono/node-server';
import { createApp } from '../../shared/api/app.ts';
import { apiDeps } from '../../shared/api/deps.ts';
import { loadConfig } from '../../shared/config.ts';
import { once } from '../../shared/runtime.ts';

const config = loadConfig();
const app = once(async () => createApp(await apiDeps(config)));

export const api = getRequestListener(async (request) => (await app()).fetch(request));

ff.http('api', api);
