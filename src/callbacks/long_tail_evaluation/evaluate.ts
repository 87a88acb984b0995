import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

import { toOneHot } from '../../core/labels';
import type { ShotThresholds } from '../../eval/shot_groups';
import { logClassMass, rebalanceLogProbabilities, toLogProbabilities } from '../../layers/rebalance_math';
import { OWNER } from './errors';
import type { ModelOutput } from './model_output';
import { scoresOf, type LongTailEvaluationEpoch } from './scores';
import { checkRows, forEachBatch, inputList, labelsToIndices, type EvaluationInputs, type LabelledBatch, type LabelledDatasetLike } from './validation_data';

/** What one evaluation needs: the model, its data, and the options that shape the scores. */
export interface EvaluationSetup extends ModelOutput {
  readonly model: tfl.LayersModel;
  readonly data: LabelledBatch | LabelledDatasetLike;
  /** Rows per forward pass for tensor data. */
  readonly batchSize: number;
  /** Re-balancing tau, or null without re-balancing. */
  readonly rebalanceTau: number | null;
  /** TRAINING examples per class. */
  readonly classCounts: readonly number[];
  readonly thresholds: ShotThresholds;
}

/**
 * Evaluates the model on the validation data: `model.predict` batch by batch, per-class counts of
 * correct predictions accumulated on the device and read back once. With re-balancing, the
 * log-probabilities of the whole set are kept until the class mass is known. Everything is freed
 * before it returns.
 * @param epoch recorded in the result.
 * @throws Error when the data is empty, a label is not a class index in [0, numClasses), or a
 *   batch's inputs and labels disagree in rows.
 */
export async function evaluate(setup: EvaluationSetup, epoch: number): Promise<LongTailEvaluationEpoch> {
  const { model, numClasses: c, outputsLogits, rebalanceTau } = setup;
  const started = Date.now();
  const keepForRebalance = rebalanceTau !== null;
  let correct: tf.Tensor = tf.zeros([c]);
  let total: tf.Tensor = tf.zeros([c]);
  let rows = 0;
  const logProbabilities: tf.Tensor[] = [];
  const labelIndices: tf.Tensor[] = [];
  try {
    const add = (xs: EvaluationInputs, ys: tf.Tensor, what: string): void => {
      const inputs = inputList(model, xs);
      const batchRows = ys.shape[0];
      checkRows(inputs, batchRows, what);
      if (batchRows === 0) return;
      const out = tf.tidy(() => {
        const outputs = model.predict(inputs.length === 1 ? inputs[0] : inputs, { batchSize: batchRows }) as tf.Tensor;
        const actual = labelsToIndices(ys, c, what);
        const actualOneHot = toOneHot(actual, c);
        const predictedOneHot = toOneHot(tf.argMax(outputs, 1), c);
        const kept: { [name: string]: tf.Tensor } = {
          correct: tf.add(correct, tf.sum(tf.mul(actualOneHot, predictedOneHot), 0)),
          total: tf.add(total, tf.sum(actualOneHot, 0)),
        };
        if (keepForRebalance) {
          kept.logP = toLogProbabilities(outputs, outputsLogits);
          kept.actual = actual;
        }
        return kept;
      });
      tf.dispose([correct, total]);
      correct = out.correct;
      total = out.total;
      if (keepForRebalance) {
        logProbabilities.push(out.logP);
        labelIndices.push(out.actual);
      }
      rows += batchRows;
    };
    await forEachBatch(model, setup.data, setup.batchSize, add);

    let rebalancedCorrect: tf.Tensor | null = null;
    if (keepForRebalance && rows > 0) {
      rebalancedCorrect = tf.tidy(() => {
        const logP = logProbabilities.length === 1 ? logProbabilities[0] : tf.concat(logProbabilities, 0);
        const actual = labelIndices.length === 1 ? labelIndices[0] : tf.concat(labelIndices, 0);
        const rebalanced = rebalanceLogProbabilities(logP as tf.Tensor2D, logClassMass(logP as tf.Tensor2D), rebalanceTau as number);
        const predictedOneHot = toOneHot(tf.argMax(rebalanced, 1), c);
        return tf.sum(tf.mul(toOneHot(actual, c), predictedOneHot), 0);
      });
    }
    const [correctValues, totalValues, rebalancedValues] = await Promise.all([correct.data(), total.data(), rebalancedCorrect?.data()]);
    rebalancedCorrect?.dispose();
    const totals = Array.from(totalValues);
    const counted = totals.reduce((a, b) => a + b, 0);
    if (rows === 0) {
      throw new Error(`${OWNER}: validationData must hold at least one example; received 0 rows.`);
    }
    if (counted !== rows) {
      throw new Error(
        `${OWNER}: validationData labels must be class indices in [0, ${c - 1}] or one-hot [N, ${c}]; ` +
          `received ${rows - counted} of ${rows} labels outside that range.`,
      );
    }
    const scores = scoresOf(Array.from(correctValues), totals, setup.classCounts, setup.thresholds);
    const rebalanced = rebalancedValues === undefined ? null : scoresOf(Array.from(rebalancedValues), totals, setup.classCounts, setup.thresholds);
    return { epoch, scores, rebalanced, milliseconds: Date.now() - started };
  } finally {
    tf.dispose([correct, total, ...logProbabilities, ...labelIndices]);
  }
}
