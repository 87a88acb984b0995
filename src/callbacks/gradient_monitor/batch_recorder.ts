import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import { oneHotView } from '../../core/labels';
import { argumentName } from './errors';
import { gradientMatrix, softmaxBackward, statisticsFromMatrix, toRows, type GradientStatistics } from './gradient_statistics';
import { compiledLoss, type ClassifierHead } from './model_head';

type LossFunction = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

/** Marks a loss wrapped by the monitor, holding the original. */
const WRAPPED = Symbol('GradientMonitor.wrapped');

/**
 * `source: 'training'`: wraps the compiled loss so that the gradient backpropagation computes for
 * the model's output also lands, as dL/dz statistics, in two non-trainable variables.
 *
 * The model's output passes through an identity whose custom gradient receives dL/d(output) of
 * each training batch during the optimizer's own backward pass: no extra forward or backward
 * pass and no host sync per batch; per batch one `[C, B] x [B, C]` matMul and a few `[B, C]` ops;
 * memory C^2 floats.
 */
export class BatchRecorder {
  private readonly matrix: tf.Variable;
  private readonly samples: tf.Variable;
  private readonly compiled: tfl.LayersModel;
  private readonly original: LossFunction;
  private active = true;

  /** Wraps `head.compiled`'s loss at once; {@link BatchRecorder.dispose} puts it back. */
  constructor(private readonly head: ClassifierHead) {
    const c = head.numClasses;
    this.compiled = head.compiled;
    this.original = unwrap(compiledLoss(this.compiled));
    [this.matrix, this.samples] = tf.tidy(() => [tf.variable(tf.zeros([c, c]), false), tf.variable(tf.zeros([c]), false)]);

    const original = this.original;
    const wrapped = (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor => {
      // Only training steps (under the optimizer's tape); validation and evaluate pass straight through.
      if (!this.active || tf.engine().state.gradientDepth === 0) return original(yTrue, yPred);
      const oneHot = oneHotView(yTrue, c, argumentName('yTrue')); // may be yTrue itself (fit's tidy frees the rest)
      const observed = tf.customGrad(((prediction: tf.Tensor, labels: tf.Tensor, save: tf.GradSaveFunc) => {
        save([prediction, labels]);
        return {
          value: tf.clone(prediction),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            this.record(dy as tf.Tensor2D, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D);
            return [dy, tf.zerosLike(saved[1])];
          },
        };
      }) as never)(yPred, oneHot) as tf.Tensor;
      return original(yTrue, observed);
    };
    (wrapped as unknown as Record<symbol, LossFunction>)[WRAPPED] = original;
    this.compiled.lossFunctions[0] = wrapped;
  }

  /** Adds one batch, in the optimizer's backward pass. dy = dL/d(output) of the batch-mean loss. */
  private record(dy: tf.Tensor2D, outputs: tf.Tensor2D, oneHot: tf.Tensor2D): void {
    if (!this.active) return;
    tf.tidy(() => {
      const perSample = tf.mul(dy, dy.shape[0]) as tf.Tensor2D; // undo fit's batch mean
      const logitGradients = this.head.outputsProbabilities ? softmaxBackward(perSample, outputs) : perSample;
      this.matrix.assign(tf.add(this.matrix, gradientMatrix(logitGradients, oneHot)));
      this.samples.assign(tf.add(this.samples, tf.sum(oneHot, 0)));
    });
  }

  /** Reads and zeroes the epoch's totals (one host read of C^2 + C numbers). */
  async takeEpoch(): Promise<GradientStatistics> {
    const [matrix, samples] = await Promise.all([this.matrix.data(), this.samples.data()]);
    tf.tidy(() => {
      this.matrix.assign(tf.zerosLike(this.matrix));
      this.samples.assign(tf.zerosLike(this.samples));
    });
    return statisticsFromMatrix(toRows(matrix, this.head.numClasses), Array.from(samples));
  }

  /** Puts the original loss back (unless another wrapper replaced it since) and frees the variables. */
  dispose(): void {
    if (!this.active) return;
    this.active = false;
    if (this.compiled.lossFunctions[0] !== this.original && unwrap(this.compiled.lossFunctions[0] as LossFunction) === this.original) {
      this.compiled.lossFunctions[0] = this.original;
    }
    this.matrix.dispose();
    this.samples.dispose();
  }
}

/** The loss under any number of monitor wrappers (a fit that threw may have left one). */
function unwrap(loss: LossFunction): LossFunction {
  let current = loss;
  for (;;) {
    const inner = (current as unknown as Record<symbol, LossFunction | undefined>)[WRAPPED];
    if (inner == null) return current;
    current = inner;
  }
}
