import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatTraceparent,
  incomingTraceParent,
  parseCloudTraceContext,
  parseTraceparent,
  traceLogFields,
} from './trace-context.ts';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

test('traceparent: version 00 and later versions are read; malformed and all-zero ids are not', () => {
  assert.deepEqual(parseTraceparent(`00-${T}-${S}-01`), { traceId: T, spanId: S, sampled: true });
  assert.deepEqual(parseTraceparent(`00-${T}-${S}-00`), { traceId: T, spanId: S, sampled: false });
  assert.deepEqual(parseTraceparent(`01-${T}-${S}-03-future`), { traceId: T, spanId: S, sampled: true });
  for (const bad of [
    undefined,
    '',
    `ff-${T}-${S}-01`,
    `00-${T}-${S}-01-extra`,
    `00-${T.toUpperCase()}-${S}-01`,
    `00-${'0'.repeat(32)}-${S}-01`,
    `00-${T}-${'0'.repeat(16)}-01`,
    `00-${T}-${S}`,
  ]) {
    assert.equal(parseTraceparent(bad), undefined, String(bad));
  }
});

test('X-Cloud-Trace-Context: the span id is decimal, o=1 is sampled', () => {
  const decimal = BigInt(`0x${S}`).toString();
  assert.deepEqual(parseCloudTraceContext(`${T}/${decimal};o=1`), { traceId: T, spanId: S, sampled: true });
  assert.deepEqual(parseCloudTraceContext(`${T.toUpperCase()}/${decimal}`), {
    traceId: T,
    spanId: S,
    sampled: false,
  });
  assert.equal(parseCloudTraceContext(`${T}/0;o=1`), undefined);
  assert.equal(parseCloudTraceContext(`${T}/${2n ** 64n};o=1`), undefined);
  assert.equal(parseCloudTraceContext(`${T}`), undefined, 'no span to be a child of');
  assert.equal(parseCloudTraceContext('nonsense'), undefined);
});

test('traceparent wins over X-Cloud-Trace-Context; the header round-trips', () => {
  const other = 'a'.repeat(32);
  assert.equal(incomingTraceParent(`00-${T}-${S}-01`, `${other}/1;o=1`)?.traceId, T);
  assert.equal(incomingTraceParent('bad', `${other}/1;o=1`)?.traceId, other);
  const t = { traceId: T, spanId: S, sampled: true };
  assert.deepEqual(parseTraceparent(formatTraceparent(t)), t);
});

test('log fields name the trace in the project, as Cloud Logging links it', () => {
  assert.deepEqual(traceLogFields('p1', { traceId: T, spanId: S, sampled: false }), {
    'logging.googleapis.com/trace': `projects/p1/traces/${T}`,
    'logging.googleapis.com/spanId': S,
    'logging.googleapis.com/trace_sampled': false,
  });
});
