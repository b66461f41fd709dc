/**
 * The operator console in a real headless Chromium against a real stack: two tenants' simulated
 * networks processed by real cycles into PostgreSQL and Redis (behind the Upstash REST server), the
 * API serving the console built by console/build.ts. Every view loads with no console error and no
 * failed request and passes axe-core with no serious or critical violation; an operator acknowledges
 * and resolves an anomaly, a reader sees no such buttons; a tenant sees only its own nodes; stale
 * data and a tier that is down show as such. Screenshots of each view go to test/console/screenshots/
 * (gitignored; the README's come from there).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { type ServerType, serve } from '@hono/node-server';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildConsole } from '../../console/build.ts';
import { type JwksIssuer, startJwksIssuer } from '../../dev/peers/jwks-issuer.ts';
import type { Anomaly } from '../../shared/anomaly/lifecycle.ts';
import { parseIssuers } from '../../shared/api/auth/token-config.ts';
import { CONSOLE_CSP, consoleCsp } from '../../shared/api/console.ts';
import { parseTileLayer } from '../../shared/api/console-tiles.ts';
import { type ApiWorld, createApiWorld, MAIN, withKey } from '../api/fixtures.ts';
import { chromiumGate, LAUNCH, watchPage } from './browser.ts';
import { startTileServer } from './tile-server.ts';

const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
/** "None here" answers the console shows as such. */
const EXPECTED_404 = [
  /^\/api\/v1\/predictions\//,
  /^\/api\/v1\/districts\/[^/]+\/patterns$/,
  /^\/api\/v1\/reports$/,
];
const VIEWS = [
  ['overview', '#/'],
  ['node', '#/node/d01-inlet-1'],
  ['forecast', '#/node/d01-customer-1'],
  ['anomalies', '#/anomalies?id=an-default-001'],
  ['efficiency', '#/efficiency'],
  ['quality', '#/quality'],
  ['patterns', '#/patterns'],
  ['reports', '#/reports'],
  ['performance', '#/performance'],
] as const;

describe('the operator console in headless Chromium', chromiumGate('the console tests'), () => {
  let world: ApiWorld;
  let server: ServerType;
  let base: string;
  let browser: Browser;
  let consoleDir: string;
  let idp: JwksIssuer;
  const AUDIENCE = 'https://console.test';

  before(async () => {
    idp = await startJwksIssuer();
    consoleDir = mkdtempSync(join(tmpdir(), 'wnm-console-'));
    await buildConsole({ outDir: consoleDir });
    world = await createApiWorld({ redis: 'private' });
    const tokenIssuers = parseIssuers(
      JSON.stringify([
        {
          issuer: idp.issuer,
          jwksUri: idp.jwksUri,
          audience: AUDIENCE,
          tenantClaim: 'tenant',
          tenants: [MAIN],
        },
      ]),
    );
    const app = world.app({ tokenIssuers }, { consoleDir });
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch(LAUNCH);
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await world?.close();
    await idp?.close();
    rmSync(consoleDir, { recursive: true, force: true });
  });

  /** A fresh tab (its own context: axe-core needs one) signed in with `token` through the URL fragment (kept in sessionStorage only). */
  async function signedIn(token: string, hash = '#/'): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${base}/console/#key=${token}`);
    await page.waitForSelector('[data-role]');
    if (hash !== '#/') await page.evaluate((h) => (location.hash = h), hash);
    return page;
  }

  /**
   * Opens a view and waits until it is drawn with its data (not the previous view's) and none of its
   * sections is still loading: a view aborts what it still loads when it is left (net::ERR_ABORTED),
   * so a test that moved on early would see its own haste as failed requests. (`networkidle` alone
   * does not wait: after a hash change it reports the page's first load, long reached.)
   */
  async function show(page: Page, hash: string) {
    await page.evaluate((h) => (location.hash = h), hash);
    const route = decodeURIComponent(hash.replace(/^#\/?/, '').split('?')[0] ?? '');
    await page.waitForSelector(`main[data-route="${route}"] [data-ready="true"]`, { timeout: 60_000 });
    // The inbox holds the anomaly stream open, so the network is never idle: it waits until the
    // stream is connected.
    await page.waitForFunction(
      (live) =>
        (!live || document.querySelector('[data-live="live"]') !== null) &&
        document.querySelector('main [aria-busy="true"]') === null,
      route === 'anomalies',
      { timeout: 60_000 },
    );
    if (route !== 'anomalies') await page.waitForLoadState('networkidle');
  }

  test('serves fingerprinted, compressed assets with long lifetimes, the page with no-cache, and a strict CSP', async () => {
    const redirect = await fetch(`${base}/console`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/console/');
    const page = await fetch(`${base}/console/`, { headers: { 'Accept-Encoding': 'br, gzip' } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    assert.equal(page.headers.get('content-security-policy'), CONSOLE_CSP);
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval|https?:/);
    const html = await page.text();
    assert.doesNotMatch(html, /<script>|<style>|style=/, 'no inline script or style');
    const etag = page.headers.get('etag')!;
    const again = await fetch(`${base}/console/`, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    const js = /src="assets\/(main-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    assert.ok(js, html);
    for (const [accept, encoding] of [
      ['br, gzip', 'br'],
      ['gzip', 'gzip'],
      ['identity', null],
    ] as const) {
      const asset: Response = await fetch(`${base}/console/assets/${js}`, {
        headers: { 'Accept-Encoding': accept },
      });
      assert.equal(asset.status, 200);
      assert.equal(asset.headers.get('content-encoding'), encoding);
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
      assert.ok((await asset.arrayBuffer()).byteLength > 1000);
    }
    assert.equal((await fetch(`${base}/console/assets/main-NOPE.js`)).status, 404);
    assert.equal((await fetch(`${base}/console/assets/..%2Fmanifest.json`)).status, 404);
  });

  test("/status names the caller and this instance's request figures (what the console reads)", async () => {
    await fetch(`${base}/api/v1/nodes`, withKey(world.tokens.reader));
    const res = await fetch(`${base}/api/v1/status`, withKey(world.tokens.reader));
    const body = (await res.json()) as {
      caller: { tenantId: string; role: string };
      api: { requests: number; latencyMs: { p99: number | null }; byTier: Record<string, number> };
    };
    assert.deepEqual(
      { tenantId: body.caller.tenantId, role: body.caller.role },
      { tenantId: 'default', role: 'reader' },
    );
    assert.ok(body.api.requests >= 1 && body.api.latencyMs.p99 !== null, JSON.stringify(body.api));
    assert.deepEqual(Object.keys(body.api.byTier).sort(), ['memory', 'postgres', 'redis']);
  });

  test('every view loads with real data, no console error, no failed request, no serious axe violation', {
    timeout: 300_000,
  }, async () => {
    const page = await signedIn(world.tokens.operator);
    const problems = watchPage(page, base, EXPECTED_404);
    try {
      for (const [name, hash] of VIEWS) {
        await show(page, hash);
        const axe = await new AxeBuilder({ page })
          .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
          .analyze();
        const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        assert.deepEqual(
          serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
          [],
          `axe on ${name}`,
        );
        await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
      }
      assert.deepEqual(problems.list(), []);
      // What each view shows, from the world's data.
      await show(page, '#/');
      assert.equal(await page.locator('svg.schematic [data-node]').count(), world.mainNodes.length);
      await show(page, '#/node/d01-customer-1');
      await page.getByRole('img', { name: /Flow forecast of/ }).waitFor();
      await show(page, '#/efficiency');
      assert.match(await page.locator('main table').first().innerText(), /network/);
      // Patterns and reports as the API answers them: the district's patterns (or "nothing yet" on
      // its 404 before the first daily rollup), the page of reports.
      const api = (path: string) => fetch(`${base}${path}`, withKey(world.tokens.operator));
      const patterns = await api('/api/v1/districts/d01/patterns');
      await show(page, '#/patterns');
      const patternsText = await page.locator('main section').first().innerText();
      if (patterns.status === 404) assert.match(patternsText, /Nothing for d01 yet/);
      else {
        assert.equal(patterns.status, 200);
        assert.match(patternsText, /weekday|typicalDay|byKind/);
      }
      const reports = await api('/api/v1/reports');
      assert.equal(reports.status, 200);
      // Held back, the reports answer must not be stood in for by the patterns view's answer (the same
      // component: a reused one would claim data-ready with the patterns' data).
      let release = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      await page.route('**/api/v1/reports', async (r) => {
        await held;
        await r.continue();
      });
      await page.evaluate(() => (location.hash = '#/reports'));
      await page.waitForSelector('main[data-route="reports"] h2');
      assert.equal(await page.locator('main[data-route="reports"] [data-ready="true"]').count(), 0);
      release();
      await show(page, '#/reports');
      await page.unroute('**/api/v1/reports');
      assert.match(await page.locator('main section').first().innerText(), /data/);
      await show(page, '#/performance');
      assert.match(
        await page
          .getByText(/API latency p99/)
          .locator('..')
          .innerText(),
        /\d ms/,
      );
      assert.deepEqual(problems.list(), []);
      // The key lives in this tab's sessionStorage only, and left the URL at once.
      assert.equal(await page.evaluate(() => localStorage.length), 0);
      assert.doesNotMatch(page.url(), /key=/);
    } finally {
      await page.context().close();
    }
  });

  test('an operator acknowledges and resolves an anomaly', async () => {
    const id = 'an-default-005'; // open (fixtures: every fifth from the first)
    const page = await signedIn(world.tokens.operator);
    const problems = watchPage(page, base, EXPECTED_404);
    try {
      await show(page, `#/anomalies?id=${id}`);
      const status = page.getByTestId('selected-status');
      await status.getByText('open', { exact: true }).waitFor();
      await page.getByRole('textbox', { name: 'Note' }).fill('crew on site');
      await page.getByRole('button', { name: 'Acknowledge' }).click();
      await status.getByText('acknowledged', { exact: true }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Acknowledge' }).count(), 0);
      await page.getByRole('button', { name: 'Resolve' }).click();
      await status.getByText('resolved', { exact: true }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Resolve' }).count(), 0);
      const res = await fetch(`${base}/api/v1/anomalies/${id}`, withKey(world.tokens.reader));
      const body = (await res.json()) as { status: string; note: string | null; resolvedBy: string | null };
      assert.equal(body.status, 'resolved');
      assert.ok(body.resolvedBy, JSON.stringify(body));
      assert.deepEqual(problems.list(), []);
    } finally {
      await page.context().close();
    }
  });

  test('keyboard only: skip link, the views by their links, an anomaly opened from the inbox', async () => {
    const page = await signedIn(world.tokens.operator);
    try {
      await show(page, '#/');
      // A view change focuses <main>; Shift+Tab walks back up through the header to the skip link.
      const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
      const back = async (to: string) => {
        const seen: string[] = [];
        while (seen.length < 15 && (await focused()) !== to) {
          await page.keyboard.press('Shift+Tab');
          seen.push(await focused());
        }
        assert.equal(await focused(), to, seen.join(' | '));
      };
      await back('Skip to content');
      await page.keyboard.press('Enter');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
      await back('Anomalies');
      await page.keyboard.press('Enter');
      await page.waitForSelector('main[data-route="anomalies"] [data-ready="true"]');
      // An anomaly's type is a button: focus it and press Enter, its evidence opens.
      const first = page.locator('table.inbox tbody tr').first();
      const id = await first.getAttribute('data-anomaly');
      await first.getByRole('button').focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: `Anomaly ${id}` }).waitFor();
      await page.locator('#evidence').waitFor();
    } finally {
      await page.context().close();
    }
  });

  test('a reader sees the anomaly and its evidence, and no button that would fail', async () => {
    const page = await signedIn(world.tokens.reader);
    try {
      await show(page, '#/anomalies?id=an-default-010');
      await page.getByTestId('selected-status').getByText('open', { exact: true }).waitFor();
      await page.locator('#evidence').waitFor();
      assert.equal(await page.getByRole('button', { name: /Acknowledge|Resolve/ }).count(), 0);
      assert.match(await page.locator('main').innerText(), /Your key is a reader/);
      assert.equal(await page.locator('[data-role]').getAttribute('data-role'), 'reader');
    } finally {
      await page.context().close();
    }
  });

  test('a tenant sees only its own nodes and anomalies', async () => {
    const page = await signedIn(world.otherTokens.reader);
    try {
      await show(page, '#/');
      const ids = await page
        .locator('svg.schematic [data-node]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-node')));
      assert.deepEqual([...ids].sort(), [...world.otherNodes].sort());
      await show(page, '#/anomalies?status=');
      const where = await page.locator('table.inbox tbody tr td:nth-child(3)').allInnerTexts();
      assert.ok(where.length > 0);
      assert.ok(
        where.every((w) => w.startsWith('acme-')),
        where.join(', '),
      );
      // The other tenant's node, asked for by URL, is not found.
      await page.evaluate((h) => (location.hash = h), `#/node/${world.mainNodes[0]}`);
      await page.getByText(/Could not load the node/).waitFor();
    } finally {
      await page.context().close();
    }
  });

  test('a wrong key is refused at sign-in; a good one signs in', async () => {
    const page = await (await browser.newContext()).newPage();
    try {
      await page.goto(`${base}/console/`);
      await page
        .getByLabel('API key or access token')
        .fill('wnm_aaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page
        .getByRole('alert')
        .getByText(/Not a live API key or token/)
        .waitFor();
      await page.getByLabel('API key or access token').fill(world.tokens.reader);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('[data-role="reader"]').waitFor();
    } finally {
      await page.context().close();
    }
  });

  test('an access token of a configured issuer signs in with its tenant and role', async () => {
    const page = await (await browser.newContext()).newPage();
    try {
      await page.goto(`${base}/console/`);
      const field = page.getByLabel('API key or access token');
      // Another tenant's token is valid but not allowed: refused at sign-in, nothing kept.
      await field.fill(await idp.sign({ sub: 'u-2', aud: AUDIENCE, tenant: 'someone-else', role: 'reader' }));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page
        .getByRole('alert')
        .getByText(/not allowed here/)
        .waitFor();
      await field.fill(await idp.sign({ sub: 'u-1', aud: AUDIENCE, tenant: MAIN, role: 'operator' }));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('[data-role="operator"]').waitFor();
      await page.waitForSelector('main[data-route=""] [data-ready="true"]', { timeout: 60_000 });
      assert.equal(await page.locator('svg.schematic [data-node]').count(), world.mainNodes.length);
    } finally {
      await page.context().close();
    }
  });

  /** A district anomaly opened the way a cycle opens one: the store writes it and its event, the cycle announces it. */
  async function openAnomaly(id: string, districtId: string) {
    const t = Date.now() - 60_000;
    const anomaly: Anomaly = {
      id,
      tenantId: MAIN,
      nodeId: null,
      districtId,
      type: 'night_flow_leak',
      metric: null,
      status: 'open',
      severity: 'critical',
      peakSeverity: 'critical',
      startMs: t,
      firstSeenMs: t,
      lastSeenMs: t,
      openedAtMs: t,
      acknowledgedAtMs: null,
      acknowledgedBy: null,
      resolvedAtMs: null,
      resolvedBy: null,
      endMs: null,
      evidence: { mnfRiseLps: 2.5 },
      peakEvidence: { mnfRiseLps: 2.5 },
      note: null,
    };
    await world.main.storage.stores.rollup.writeDistrictTransitions([{ kind: 'opened', anomaly }], new Map());
    await world.main.aggregator.announceEvents?.(MAIN);
  }

  /** The API requests a page makes from now on (path and query). */
  function recordRequests(page: Page): string[] {
    const asked: string[] = [];
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (url.pathname.startsWith('/api/')) asked.push(url.pathname + url.search);
    });
    return asked;
  }

  test('an anomaly that opens after the page loaded appears in the inbox through the stream, with no poll', async () => {
    const page = await signedIn(world.tokens.operator);
    const problems = watchPage(page, base, EXPECTED_404);
    try {
      const asked = recordRequests(page);
      await show(page, '#/anomalies');
      await page.locator('[data-live="live"]').waitFor();
      assert.ok(asked.includes('/api/v1/anomalies/stream'), asked.join('\n'));
      const list = await page.locator('table.inbox tbody tr').count();
      asked.length = 0;
      await openAnomaly('an-live-001', 'd01');
      const row = page.locator('tr[data-anomaly="an-live-001"]');
      await row.waitFor();
      assert.equal(await row.getAttribute('data-status'), 'open');
      assert.equal(await page.locator('table.inbox tbody tr').count(), list + 1);
      assert.match(await page.locator('[data-live]').innerText(), /1 new since you opened this view/);
      // Resolved elsewhere (another operator, through the API): it leaves the open inbox, again pushed.
      const res = await fetch(`${base}/api/v1/anomalies/an-live-001/resolve`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${world.tokens.operator}`, 'Content-Type': 'application/json' },
        body: '{}',
      });
      assert.equal(res.status, 200);
      await row.waitFor({ state: 'detached' });
      // Nothing was asked for the inbox: both changes came through the open stream.
      assert.deepEqual(
        asked.filter((p) => p.startsWith('/api/v1/anomalies')),
        [],
      );
      assert.deepEqual(problems.list(), []);
    } finally {
      await page.context().close();
    }
  });

  test('without the stream the inbox falls back to polling', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    // The browser refuses the stream (a network failure the console sees), and the page's clock is
    // ours to move, so the 30 s poll comes without waiting for it.
    let refused = 0;
    await page.route('**/api/v1/anomalies/stream', (route) => {
      refused++;
      return route.abort('connectionrefused');
    });
    await page.clock.install();
    try {
      const asked = recordRequests(page);
      await page.goto(`${base}/console/#key=${world.tokens.operator}`);
      await page.waitForSelector('[data-role]');
      await page.evaluate(() => (location.hash = '#/anomalies'));
      await page.waitForSelector('main[data-route="anomalies"] [data-ready="true"]');
      await page.locator('[data-live="polling"]').waitFor();
      assert.ok(refused >= 1);
      await openAnomaly('an-live-002', 'd02');
      const polls = () => asked.filter((p) => p.startsWith('/api/v1/anomalies?')).length;
      const before = polls();
      const row = page.locator('tr[data-anomaly="an-live-002"]');
      assert.equal(await row.count(), 0);
      await page.clock.fastForward(31_000);
      await row.waitFor();
      assert.ok(polls() > before, asked.join('\n'));
    } finally {
      await context.close();
    }
  });

  test('map tiles: none asked for by default; where configured, drawn under the schematic from that origin only', {
    timeout: 180_000,
  }, async () => {
    const tileServer = await startTileServer();
    const tiles = parseTileLayer(`${tileServer.origin}/{z}/{x}/{y}.png`, 'Test tiles, CC0')!;
    const tiled = serve({
      fetch: world.app({}, { consoleDir, consoleTiles: tiles }).fetch,
      port: 0,
      hostname: '127.0.0.1',
    });
    await new Promise((resolve) => tiled.once('listening', resolve));
    const tiledBase = `http://127.0.0.1:${(tiled.address() as AddressInfo).port}`;
    try {
      // Not configured (the default server): no tile element, nothing asked of the tile server.
      const plain = await signedIn(world.tokens.reader);
      try {
        await show(plain, '#/');
        assert.equal(await plain.locator('svg.schematic image').count(), 0);
        assert.equal(await plain.locator('meta[name="wnm-tile-url"]').count(), 0);
        assert.equal(await plain.getByText('Map background').count(), 0);
      } finally {
        await plain.context().close();
      }
      assert.deepEqual(tileServer.requests, []);

      // Configured: the page names the layer, the CSP adds exactly the tile server's origin.
      const res = await fetch(`${tiledBase}/console/`);
      assert.equal(res.headers.get('content-security-policy'), consoleCsp(tiles));
      assert.match(
        res.headers.get('content-security-policy')!,
        new RegExp(`img-src 'self' data: ${tileServer.origin};`),
      );
      assert.notEqual(res.headers.get('etag'), (await fetch(`${base}/console/`)).headers.get('etag'));
      assert.match(
        await res.text(),
        /<meta name="wnm-tile-url" content="http:\/\/127\.0\.0\.1:\d+\/\{z\}\/\{x\}\/\{y\}\.png">/,
      );

      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      const page = await context.newPage();
      const problems = watchPage(page, tiledBase, EXPECTED_404);
      const loaded = new Set<string>();
      let onLoaded = () => {};
      page.on('requestfinished', async (req) => {
        if (!req.url().startsWith(tileServer.origin) || (await req.response())?.status() !== 200) return;
        loaded.add(req.url());
        onLoaded();
      });
      try {
        await page.goto(`${tiledBase}/console/#key=${world.tokens.reader}`);
        await page.waitForSelector('main[data-route=""] [data-ready="true"]', { timeout: 60_000 });
        const images = page.locator('svg.schematic image');
        await images.first().waitFor({ state: 'attached' });
        const count = await images.count();
        // Every tile drawn was fetched from the tile server, and loaded.
        await new Promise<void>((resolve) => {
          onLoaded = () => loaded.size >= count && resolve();
          onLoaded();
        });
        const hrefs = await images.evaluateAll((els) => els.map((e) => e.getAttribute('href')));
        assert.deepEqual(loaded, new Set(hrefs));
        assert.ok(
          tileServer.requests.every((p) => /^\/\d+\/\d+\/\d+\.png$/.test(p)),
          tileServer.requests.join(),
        );
        await page.getByText('Map tiles: Test tiles, CC0').waitFor();
        const schematic = page.locator('svg.schematic');
        const withTiles = await schematic.screenshot();
        await page.screenshot({ path: join(SHOTS, 'overview-tiles.png'), fullPage: true });
        // Switched off: the same schematic without the tiles looks different (the tiles were drawn).
        await page.getByLabel('Map background').uncheck();
        assert.equal(await images.count(), 0);
        const without = await schematic.screenshot();
        assert.notDeepEqual(withTiles, without);
        assert.deepEqual(problems.list(), []);
      } finally {
        await context.close();
      }
    } finally {
      await new Promise((resolve) => tiled.close(resolve));
      await tileServer.close();
    }
  });

  test('stale data and a tier that is down show as such', async () => {
    const page = await signedIn(world.tokens.reader);
    try {
      await show(page, '#/');
      // The world's readings are from March 2026: older than two cycles.
      await page.locator('.badge[data-tone="stale"]', { hasText: 'stale' }).waitFor();
      await world.upstash!.stop();
      await page.reload();
      await page.waitForSelector('main [data-ready="true"]');
      await page.locator('.badge[data-tone="down"]', { hasText: 'Redis down' }).waitFor();
      await page.screenshot({ path: join(SHOTS, 'overview-redis-down.png'), fullPage: true });
    } finally {
      await page.context().close();
    }
  });
});
