import type * as tf from '@tensorflow/tfjs-core';

import type { GradientStatistics } from './gradient_statistics';
import type { GradientSource } from './options';

/** One epoch of {@link GradientMonitor.history}. Plain numbers and nulls only. */
export interface GradientMonitorEpoch {
  /** Epoch index as tfjs callbacks count it (0 = first epoch of the first `fit`, or `initialEpoch`). */
  epoch: number;
  /** Where the gradients were measured. */
  source: GradientSource;
  /** This epoch's statistics (probe: the probe at this epoch's end; training: this epoch's batches). */
  statistics: GradientStatistics;
  /** Running totals over all epochs so far (the full matrix is in {@link GradientMonitor.cumulative}). */
  cumulative: Omit<GradientStatistics, 'negative'>;
  /**
   * Per class j, mean cosine similarity between the class vector w_j (column j of the final
   * Dense kernel) and the penultimate features of class j's probe samples, at this epoch's end.
   * Null entries: no probe sample of that class; null: no probe or no final Dense layer.
   */
  similarity: (number | null)[] | null;
  /** Wall-clock time the monitor spent measuring at this epoch's end, in milliseconds. */
  milliseconds: number;
}

/** JSON form of a monitor: its config and results. */
export interface GradientMonitorJSON {
  /** Always `'GradientMonitor'`. */
  className: string;
  /** {@link GradientMonitor.getConfig}: the options, without the probe tensors or the tfjs-vis module. */
  config: tf.serialization.ConfigDict;
  /** Number of classes of the model last trained with the monitor; null before any `fit`. */
  numClasses: number | null;
  /** One record per epoch measured, oldest first ({@link GradientMonitor.history}). */
  history: GradientMonitorEpoch[];
  /** Running totals with the full negative-gradient matrix; null before the first epoch end. */
  cumulative: GradientStatistics | null;
}
