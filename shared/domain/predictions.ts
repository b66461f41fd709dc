/**
 * An issued forecast: what forecasting writes for a node or a district once per hour of data, and what
 * the API serves of it (one declaration for both sides).
 */

export type TargetKind = 'node' | 'district';

/** Hourly arrays over the horizon, with the intervals. */
export interface PredictionBody {
  unit: string;
  mean: (number | null)[];
  lo80: (number | null)[];
  hi80: (number | null)[];
  lo95: (number | null)[];
  hi95: (number | null)[];
  /** When the serving model was trained, and the end of the data it was refreshed with. */
  trainedAt: string;
  dataTo: string;
  /** `champion`: the registry's trained model; `fallback`: a simpler one while the history is too short. */
  servedBy?: 'champion' | 'fallback';
  /** Hours of data the serving model was fitted on. */
  historyHours?: number;
  /** Why a fallback serves. */
  note?: string;
}

/** A prediction as forecasting issues it. */
export interface PredictionRow {
  tenantId: string;
  targetId: string;
  targetKind: TargetKind;
  /** The first forecast hour: a forecast is issued once per hour of data, so this is also its issue time. */
  horizonStartMs: number;
  modelId: string;
  body: PredictionBody;
}

/** An issued prediction as the API serves it (bodies of older rows may lack fields). */
export interface IssuedPrediction {
  targetId: string;
  targetKind: TargetKind;
  issuedAt: Date;
  modelId: string;
  horizonStart: Date;
  body: Partial<
    Pick<
      PredictionBody,
      'unit' | 'mean' | 'lo80' | 'hi80' | 'lo95' | 'hi95' | 'servedBy' | 'historyHours' | 'note' | 'trainedAt'
    >
  >;
}
