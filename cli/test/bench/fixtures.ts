import type { BenchRun, RunRow, RunSettings } from '../../src/bench/runs';

export const SETTINGS: RunSettings = {
  data: '/data/fashion-mnist',
  nMax: 500,
  epochs: 30,
  batchSize: 128,
  learningRate: 1e-3,
  initialization: 'pytorch',
  method: {},
};

/** A row with the given accuracies (fractions); perClass is not used by the aggregation. */
export function row(name: string, overall: number, many: number | null, medium: number | null, few: number | null): RunRow {
  return { name, label: name, overall, many, medium, few, perClass: [] };
}

/** A hand-made finished run. */
export function run(imbalanceFactor: number, method: string, seed: number, rows: RunRow[]): BenchRun {
  return {
    key: `if${imbalanceFactor}/${method}/seed${seed}/test`,
    imbalanceFactor,
    method,
    seed,
    settings: SETTINGS,
    backend: 'cpu',
    classCounts: [],
    rows,
    secondsPerEpoch: 1,
    finalLoss: 0.5,
    seconds: 30,
    finishedAt: '2025-01-01T00:00:00.000Z',
  };
}
