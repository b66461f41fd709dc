/**
 * The `anomaly.opened` log line, written once per anomaly when it opens (after the write that opened it
 * committed). Alerts and a log-based metric key on it. The anomaly's severity travels as
 * `anomalySeverity`: a `severity` field is the log line's own level for Cloud Logging (it is taken out
 * of jsonPayload), and our logger writes its level under that name.
 */
import type { Anomaly } from '../../anomaly/index.ts';
import type { Logger } from '../../log.ts';

export function logOpened(logger: Logger, a: Anomaly): void {
  logger.warn(`anomaly opened: ${a.type}${a.metric ? ` (${a.metric})` : ''} at ${a.nodeId ?? a.districtId}`, {
    event: 'anomaly.opened',
    anomalyId: a.id,
    anomalySeverity: a.severity,
    anomalyType: a.type,
    nodeId: a.nodeId,
    districtId: a.districtId,
    metric: a.metric,
    startedAt: new Date(a.startMs).toISOString(),
    evidence: a.evidence,
  });
}
