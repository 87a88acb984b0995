import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * Whether `current` is strictly better than `best` in the direction of `mode` (any value beats
 * no best yet): the rule of `tf.callbacks.earlyStopping`, so the first epoch wins a tie.
 */
export function improves(mode: 'min' | 'max', current: number, best: number | null): boolean {
  return best === null || (mode === 'max' ? current > best : current < best);
}

/**
 * The weights of the best epoch (`model.getWeights()`: trainable and non-trainable), kept as
 * clones, which share memory with the variables until the optimizer assigns a new value.
 * Optimizer state and the state of a stateful loss are not kept.
 */
export class BestWeights {
  private weights: tf.Tensor[] | null = null;

  /** Whether a copy is held. */
  get held(): boolean {
    return this.weights !== null;
  }

  /** Replaces the held copy (disposed) by the model's current weights. */
  keep(model: tfl.LayersModel): void {
    if (this.weights !== null) tf.dispose(this.weights);
    // clone() shares the variable's memory until the optimizer assigns a new value.
    this.weights = tf.tidy(() => model.getWeights().map((w) => tf.clone(w)));
  }

  /** Writes the held copy into the model; false (and nothing written) when none is held. The copy stays held. */
  restore(model: tfl.LayersModel): boolean {
    if (this.weights === null) return false;
    model.setWeights(this.weights);
    return true;
  }

  /** Frees the held copy. Harmless when none is held. */
  dispose(): void {
    if (this.weights !== null) tf.dispose(this.weights);
    this.weights = null;
  }
}
