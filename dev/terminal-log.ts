/**
 * What `npm start` shows beside its progress bars: the JSON log lines (Cloud Logging's shape, the
 * contract of shared/log.ts) go whole to a file, and the terminal gets one readable line per notable
 * event — an anomaly opened, a run that did not end `done`, an error, the first of each distinct warning.
 * While a progress bar is drawn (`quiet`), notable events are only counted; `summary()` says what
 * happened meanwhile, in one line.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Sink } from '../shared/log.ts';

export interface TerminalLog {
  /** The sink to hand to createLogger. */
  sink: Sink;
  /** Where the JSON lines go. */
  file: string;
  /** While true, notable events are counted, not printed (a progress bar owns the terminal). */
  quiet: boolean;
  /** Notable events since the last summary, as one line (or null when there were none); resets. */
  summary(): string | null;
  close(): void;
}

type Entry = Record<string, unknown> & { severity?: string; message?: string; event?: string };

/** The readable line of a notable log entry and the kind it is counted under, or null when not notable. */
export function notable(e: Entry): { kind: string; line: string } | null {
  if (e.event === 'anomaly.opened') {
    const where = e.nodeId ?? e.districtId;
    const metric = e.metric ? ` (${e.metric})` : '';
    return {
      kind: `${e.anomalyType}`,
      line: `anomaly opened: ${e.anomalyType}${metric} at ${where}, ${e.anomalySeverity}, since ${e.startedAt}`,
    };
  }
  if (e.event === 'run.finished' && e.status !== 'done') {
    return {
      kind: `run ${e.status}`,
      line: `run ${e.runId} ended ${e.status}: ${e.nodesFailed ?? '?'} of ${e.nodesProcessed ?? '?'} nodes failed`,
    };
  }
  if (e.severity === 'ERROR' || e.severity === 'CRITICAL')
    return { kind: 'error', line: `error: ${e.message}` };
  if (e.severity === 'WARNING') return { kind: 'warning', line: `warning: ${e.message}` };
  return null;
}

export function terminalLog(options: { file: string; print?: (line: string) => void }): TerminalLog {
  mkdirSync(dirname(options.file), { recursive: true });
  // Written synchronously: a handful of lines per cycle, and none lost when the process dies.
  const fd = openSync(options.file, 'a');
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const counts = new Map<string, number>();
  const warned = new Set<string>();
  let open = true;
  const log: TerminalLog = {
    file: options.file,
    quiet: false,
    sink(line) {
      if (!open) return;
      writeSync(fd, `${line}\n`);
      let entry: Entry;
      try {
        entry = JSON.parse(line) as Entry;
      } catch {
        return;
      }
      const n = notable(entry);
      if (!n) return;
      counts.set(n.kind, (counts.get(n.kind) ?? 0) + 1);
      if (log.quiet) return;
      // A warning repeated (one per request while a peer is down) is shown once; the file has them all.
      if (n.kind === 'warning') {
        if (warned.has(n.line)) return;
        warned.add(n.line);
        print(`  · ${n.line} (repeats are only in the log file)`);
        return;
      }
      print(`  · ${n.line}`);
    },
    summary() {
      if (counts.size === 0) return null;
      const anomalies = [...counts].filter(([k]) => !/^(run |error$|warning$)/.test(k));
      const opened = anomalies.reduce((n, [, c]) => n + c, 0);
      const parts: string[] = [];
      if (opened > 0) {
        parts.push(
          `${opened} anomal${opened === 1 ? 'y' : 'ies'} opened (${anomalies
            .sort((a, b) => b[1] - a[1])
            .map(([k, c]) => `${k} ${c}`)
            .join(', ')})`,
        );
      }
      for (const [k, c] of counts) if (/^(run |error$|warning$)/.test(k)) parts.push(`${c} × ${k}`);
      counts.clear();
      return parts.join('; ');
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
  return log;
}
