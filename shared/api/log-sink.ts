/**
 * A log sink for the API's one line per request: lines are gathered and written to stdout every
 * `intervalMs` (or every 64 KiB), one write instead of one per request. Cloud Logging reads the same
 * lines; they are flushed on exit, and a crash loses at most the last interval's lines.
 */
import { writeSync } from 'node:fs';
import type { Sink } from '../log.ts';

export function batchedStdoutSink(
  options: { intervalMs?: number; write?: (text: string) => void } = {},
): Sink {
  const write = options.write ?? ((t: string) => process.stdout.write(t));
  const intervalMs = options.intervalMs ?? 50;
  let pending: string[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const take = () => {
    const text = `${pending.join('\n')}\n`;
    pending = [];
    bytes = 0;
    return text;
  };
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length > 0) write(take());
  };
  process.once('beforeExit', flush);
  process.once('exit', () => {
    if (pending.length > 0 && !options.write) writeSync(1, take());
  });
  return (line) => {
    pending.push(line);
    bytes += line.length;
    if (bytes >= 65_536) flush();
    else if (!timer) {
      timer = setTimeout(flush, intervalMs);
      timer.unref();
    }
  };
}
