import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from './log.ts';

function capture(level?: string) {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const log = createLogger({
    ...(level ? { level } : {}),
    base: { function: 'aggregator' },
    sink: (line) => {
      raw.push(line);
      lines.push(JSON.parse(line));
    },
  });
  return { log, lines, raw };
}

test("lines are Cloud Logging's JSON: severity, message, time, the base and child fields, one per call", () => {
  const { log, lines, raw } = capture('debug');
  log
    .child({ runId: 'r1' })
    .child({ nodeId: 'n1' })
    .debug('node aggregated', { event: 'node.aggregated', readings: 3 });
  log.info('plain');
  assert.equal(raw.length, 2);
  assert.ok(
    raw.every((l) => !l.includes('\n')),
    'the sink gets a line without its newline',
  );
  const { time, ...rest } = lines[0]!;
  assert.deepEqual(rest, {
    severity: 'DEBUG',
    function: 'aggregator',
    runId: 'r1',
    nodeId: 'n1',
    event: 'node.aggregated',
    readings: 3,
    message: 'node aggregated',
  });
  assert.ok(Number.isFinite(Date.parse(String(time))));
  assert.deepEqual(Object.keys(lines[1]!).sort(), ['function', 'message', 'severity', 'time']);
});

test('LOG_LEVEL names map to severities, and lines below the level are dropped', () => {
  const { log, lines } = capture('warning');
  log.debug('d');
  log.info('i');
  log.warn('w');
  log.error('e');
  assert.deepEqual(
    lines.map((l) => l.severity),
    ['WARNING', 'ERROR'],
  );
});

test('an error at ERROR carries a top-level stack_trace for Error Reporting; a warning keeps it inside err', () => {
  const { log, lines } = capture();
  const err = new Error('connection refused', { cause: 'ECONNREFUSED' });
  log.error('node failed for good', { event: 'message.dead_lettered', err });
  log.warn('node failed; redelivered', { event: 'node.failed', err });
  log.error('not an Error', { err: 'a string' });
  assert.equal(lines[0]!.stack_trace, err.stack);
  assert.deepEqual(lines[0]!.err, {
    name: 'Error',
    message: 'connection refused',
    stack: err.stack,
    cause: 'ECONNREFUSED',
  });
  assert.equal(lines[1]!.stack_trace, undefined);
  assert.equal((lines[1]!.err as { message: string }).message, 'connection refused');
  assert.equal(lines[2]!.stack_trace, undefined);
  assert.deepEqual(lines[2]!.err, { message: 'a string' });
});
