/**
 * One signed delivery request: POST with the body, its signature and event id, no redirects followed
 * (a 3xx is a failed attempt), a deadline, and a response body read up to 64 KiB and discarded. The
 * connection resolves names through the SSRF guard (targets.ts `guardedLookup`), so the addresses it
 * connects to are the ones checked.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SIGNATURE_HEADER, sign } from './signing.ts';
import type { AttemptResult } from './store.ts';
import { checkTarget, guardedLookup, isAllowListed, type TargetPolicy, TargetRefused } from './targets.ts';

export interface SendOptions {
  policy: TargetPolicy;
  timeoutMs: number;
}

export interface SendResult extends AttemptResult {
  ok: boolean;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

export async function sendDelivery(
  url: string,
  body: string,
  secret: string,
  eventId: string,
  options: SendOptions,
): Promise<SendResult> {
  const started = performance.now();
  const took = () => performance.now() - started;
  let target: URL;
  try {
    target = await checkTarget(url, options.policy);
  } catch (err) {
    if (err instanceof TargetRefused) {
      return { ok: false, statusCode: null, error: `refused target: ${err.message}`, durationMs: took() };
    }
    throw err;
  }
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<SendResult>((resolve) => {
    const req = request(
      target,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          'User-Agent': 'wnm-webhooks/1',
          'Webhook-Id': eventId,
          [SIGNATURE_HEADER]: sign(secret, body),
        },
        timeout: options.timeoutMs,
        ...(isAllowListed(target, options.policy) ? {} : { lookup: guardedLookup }),
      },
      (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        const done = () => {
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          resolve({ ok, statusCode: status, error: ok ? null : `HTTP ${status}`, durationMs: took() });
        };
        res.on('end', done);
        res.on('close', done);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (err) =>
      resolve({ ok: false, statusCode: null, error: err.message.slice(0, 300), durationMs: took() }),
    );
    req.end(body);
  });
}
