/** What `npm start` prints beside its progress bars (dev/terminal-log.ts): readable lines, JSON in a file. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { terminalLog } from '../dev/terminal-log.ts';
import { createLogger } from '../shared/log.ts';

test('JSON lines go whole to the file; the terminal gets one readable line per notable event', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wnm-tlog-'));
  try {
    const printed: string[] = [];
    const log = terminalLog({ file: join(dir, 'logs', 'start.jsonl'), print: (l) => printed.push(l) });
    const logger = createLogger({ level: 'info', sink: log.sink });

    log.quiet = true; // a progress bar owns the terminal: notable events are counted
    logger.warn('anomaly opened: burst at d01', {
      event: 'anomaly.opened',
      anomalyType: 'burst',
      anomalySeverity: 'major',
      districtId: 'd01',
      startedAt: '2026-07-20T10:00:00.000Z',
    });
    logger.warn('anomaly opened: gap at n1', { event: 'anomaly.opened', anomalyType: 'gap', nodeId: 'n1' });
    logger.warn('anomaly opened: gap at n2', { event: 'anomaly.opened', anomalyType: 'gap', nodeId: 'n2' });
    logger.info('node aggregated', { event: 'node.aggregated' });
    assert.deepEqual(printed, []);
    log.quiet = false;
    assert.equal(log.summary(), '3 anomalies opened (gap 2, burst 1)');
    assert.equal(log.summary(), null);

    logger.info('run finished', { event: 'run.finished', status: 'done', runId: 'r1' });
    logger.info('run finished', {
      event: 'run.finished',
      status: 'partial',
      runId: 'r2',
      nodesFailed: 2,
      nodesProcessed: 48,
    });
    logger.warn('hot cache unavailable; reading PostgreSQL');
    logger.warn('hot cache unavailable; reading PostgreSQL');
    logger.error('request failed', { err: new Error('boom') });
    assert.deepEqual(printed, [
      '  · run r2 ended partial: 2 of 48 nodes failed',
      '  · warning: hot cache unavailable; reading PostgreSQL (repeats are only in the log file)',
      '  · error: request failed',
    ]);
    log.close();
    logger.warn('after close'); // dropped, not thrown

    const lines = readFileSync(log.file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 9);
    for (const l of lines) assert.equal(typeof (JSON.parse(l) as { severity: string }).severity, 'string');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
