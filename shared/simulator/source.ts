/** The simulator as a ReadingSource, for the dispatcher and the local runner. */
import type { NodeColumns } from '../domain/columns.ts';
import type { Network } from '../domain/readings.ts';
import type { IngestWindow, ReadingBatch, ReadingSource } from '../sources/source.ts';
import { createSimulator, type Simulator, type SimulatorOptions } from './simulator.ts';

export class SimulatorSource implements ReadingSource {
  readonly name = 'simulator';
  readonly simulator: Simulator;

  constructor(simulator: Simulator) {
    this.simulator = simulator;
  }

  async network(): Promise<Network> {
    return this.simulator.network();
  }

  async readIngested(window: IngestWindow): Promise<ReadingBatch> {
    return this.simulator.readIngested(window);
  }

  async readColumns(window: IngestWindow, nodeIds: readonly string[]): Promise<NodeColumns[]> {
    return this.simulator.readIngestedColumns(window, nodeIds);
  }
}

/** A ReadingSource named 'simulator', from simulator options or an existing simulator. */
export function createSimulatorSource(from: SimulatorOptions | Simulator): SimulatorSource {
  return new SimulatorSource('readIngested' in from ? from : createSimulator(from));
}
