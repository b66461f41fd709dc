/**
 * The /docs page in a real headless Chromium: it renders the API reference from /openapi.json with
 * every request kept on this server (no CDN, no fonts from the internet), and lists the endpoints.
 * Under CI=true a missing Chromium fails the run (`apt-get install -y chromium`); otherwise it skips loudly.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type ServerType, serve } from '@hono/node-server';
import { chromium } from 'playwright-core';
import { MemoryCache } from '../../shared/adapters/cache/memory.ts';
import { postgresApiStores } from '../../shared/adapters/postgres/api-stores.ts';
import { connect } from '../../shared/adapters/postgres/client.ts';
import { createApp } from '../../shared/api/app.ts';
import { createLogger } from '../../shared/log.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CI = process.env.CI === 'true' || process.env.CI === '1';

function chromiumGate(): { skip?: string } {
  if (existsSync(CHROMIUM)) return {};
  const message = `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`;
  if (CI) {
    test('required: Chromium for the /docs browser test', () => {
      throw new Error(`CI=true and ${message}`);
    });
  } else {
    process.stderr.write(`\n!!! SKIPPING: ${message}\n!!! (with CI=true this fails instead)\n\n`);
  }
  return { skip: message };
}

describe('/docs in headless Chromium', chromiumGate(), () => {
  let server: ServerType;
  let base: string;
  // The reference page needs no data: the database is never asked (a closed port is fine).
  const sql = connect('postgres://nobody@127.0.0.1:9/none', { max: 1 });

  before(async () => {
    const app = createApp({
      stores: postgresApiStores(sql),
      cache: new MemoryCache(),
      logger: createLogger({ level: 'error' }),
      cacheTtlSeconds: 60,
      defaultTenantId: 'default',
    });
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await sql.end({ timeout: 1 });
  });

  test('opens offline and lists the endpoints', { timeout: 90_000 }, async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage();
      const external: string[] = [];
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(base) || url.startsWith('data:') || url.startsWith('blob:'))
          return route.continue();
        external.push(url);
        return route.abort();
      });
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`${base}/docs`, { waitUntil: 'load' });
      for (const summary of [
        'List nodes',
        'Dashboard summary',
        'List anomalies',
        'Acknowledge an open anomaly',
      ]) {
        await page.getByText(summary, { exact: false }).first().waitFor({ timeout: 45_000 });
      }
      const text = await page.locator('body').innerText();
      for (const expected of [
        "A node's history",
        'Water balance and network efficiency',
        'Latest forecast of a node or district',
      ]) {
        assert.ok(text.includes(expected), `the page lists "${expected}"`);
      }
      assert.deepEqual(external, [], 'the page asked for nothing outside this server');
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});
