/**
 * Chromium for the console's tests (Debian's build through playwright-core; never a downloaded
 * browser): the launch options, the gate that fails under CI=true when Chromium is missing, and a
 * page watcher that collects console errors and failed requests, so a test can assert there were none.
 */
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import type { Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CI = process.env.CI === 'true' || process.env.CI === '1';

export const LAUNCH = {
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
};

/** `describe(name, chromiumGate(what), …)`: skips loudly without Chromium, fails under CI=true. */
export function chromiumGate(what: string): { skip?: string } {
  if (existsSync(CHROMIUM)) return {};
  const message = `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`;
  if (CI) {
    test(`required: Chromium for ${what}`, () => {
      throw new Error(`CI=true and ${message}`);
    });
  } else {
    process.stderr.write(`\n!!! SKIPPING: ${message}\n!!! (with CI=true this fails instead)\n\n`);
  }
  return { skip: message };
}

export interface PageProblems {
  /** Console errors, page errors, failed requests and 4xx/5xx answers, except the expected ones. */
  list(): string[];
  reset(): void;
}

const STREAM = /\/api\/v1\/anomalies\/stream(\?|$)/;
const RESOURCE_404 = /Failed to load resource: the server responded with a status of 404/;

/**
 * Watches a page. `expected404` are answers that mean "none here" and that the console shows as such
 * (a node without a forecast, an analytics route the server does not have yet); Chromium also logs
 * each of them as a console error "Failed to load resource", which is then expected too (as many as
 * there were expected 404s). A 304 is not a failure: Chromium reports the revalidation of a
 * `cache: 'no-store'` request (If-None-Match set by the console) as aborted, and so is the anomaly
 * stream that the console closes when the inbox is left.
 */
export function watchPage(page: Page, base: string, expected404: RegExp[] = []): PageProblems {
  let problems: string[] = [];
  let logged404 = 0;
  let expected = 0;
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    if (RESOURCE_404.test(msg.text())) logged404++;
    else problems.push(`console error: ${msg.text()} (${msg.location().url})`);
  });
  page.on('response', (res) => {
    if (res.status() < 400) return;
    const path = res.url().replace(base, '');
    if (res.status() === 404 && expected404.some((re) => re.test(path))) expected++;
    else problems.push(`${res.status()} ${path}`);
  });
  page.on('requestfailed', async (req) => {
    // The anomaly stream is closed by the console when the inbox is left: Chromium says aborted.
    if (STREAM.test(req.url()) && req.failure()?.errorText === 'net::ERR_ABORTED') return;
    const res = await req.response().catch(() => null);
    if (res?.status() === 304) return;
    problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`);
  });
  return {
    list: () => [
      ...problems,
      ...(logged404 > expected
        ? [`${logged404 - expected} console error(s): unexpected 404 resource loads`]
        : []),
    ],
    reset() {
      problems = [];
      logged404 = 0;
      expected = 0;
    },
  };
}
