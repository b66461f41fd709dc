/**
 * The network's quality from its nodes' reports: the mean score and the worst nodes.
 */
import type { QualityReport } from './quality-score.ts';
export interface NodeQuality {
  nodeId: string;
  report: QualityReport;
  /** Default 1. Callers may weigh district inlets higher: the water balance hangs on them. */
  weight?: number;
}

export interface NetworkQuality {
  nodes: number;
  /** Weighted mean of node scores; null for a network without nodes. */
  score: number | null;
  /** Weighted means of the node measures over the nodes where each could be computed. */
  measures: {
    completeness: number | null;
    validity: number | null;
    timeliness: number | null;
    flatlineShare: number | null;
    duplicateShare: number | null;
    outOfOrderShare: number | null;
  };
  /** The lowest-scoring nodes, worst first. */
  worst: Array<{ nodeId: string; score: number }>;
}

/** The network score: a weighted mean of node scores (a silent node scores 0 and pulls it down), and the worst nodes. */
export function networkQuality(nodes: readonly NodeQuality[], worstCount = 10): NetworkQuality {
  const mean = (value: (r: QualityReport) => number | null): number | null => {
    let total = 0;
    let weights = 0;
    for (const { report, weight = 1 } of nodes) {
      const v = value(report);
      if (v === null) continue;
      total += weight * v;
      weights += weight;
    }
    return weights > 0 ? total / weights : null;
  };
  const score = mean((r) => r.score);
  return {
    nodes: nodes.length,
    score: score === null ? null : Math.round(score * 10) / 10,
    measures: {
      completeness: mean((r) => r.completeness),
      validity: mean((r) => r.validity),
      timeliness: mean((r) => r.timeliness),
      flatlineShare: mean((r) => r.flatlineShare),
      duplicateShare: mean((r) => r.duplicateShare),
      outOfOrderShare: mean((r) => r.outOfOrderShare),
    },
    worst: nodes
      .map(({ nodeId, report }) => ({ nodeId, score: report.score }))
      .sort((a, b) => a.score - b.score || a.nodeId.localeCompare(b.nodeId))
      .slice(0, worstCount),
  };
}
