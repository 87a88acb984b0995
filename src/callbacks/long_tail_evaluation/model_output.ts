import type * as tfl from '@tensorflow/tfjs-layers';

import { formatShape } from '../../core/shapes';
import { OWNER } from './errors';
import type { LongTailEvaluationOptions } from './options';
import { checkRows, inputList, isDataset, splitBatch } from './validation_data';

/** What `onTrainBegin` learns about the model: its number of classes and the kind of its output. */
export interface ModelOutput {
  readonly numClasses: number;
  /** Whether the output is logits (else softmax probabilities), as re-balancing reads it. */
  readonly outputsLogits: boolean;
}

/**
 * Checks the model against the options and resolves `fromLogits`.
 * @throws Error when the model has not a single `[batch, numClasses]` output with numClasses =
 *   `classCounts.length`, tensor validation data disagree in rows, or (with `rebalance` and
 *   `fromLogits: 'auto'`) the final layer is neither softmax nor linear.
 */
export function checkModel(
  model: tfl.LayersModel,
  options: Pick<LongTailEvaluationOptions, 'validationData' | 'classCounts' | 'fromLogits' | 'rebalanceTau'>,
): ModelOutput {
  const outputs = model.outputs;
  if (outputs == null || outputs.length !== 1) {
    throw new Error(`${OWNER}: the model must have a single output [batch, numClasses]; received ${outputs?.length ?? 0} outputs.`);
  }
  const shape = outputs[0].shape;
  const numClasses = options.classCounts.length;
  if (shape.length !== 2 || shape[1] !== numClasses) {
    throw new Error(`${OWNER}: the model output must be [batch, ${numClasses}] (numClasses from classCounts); received ${formatShape(shape)}.`);
  }
  const data = options.validationData;
  if (!isDataset(data)) {
    const { xs, ys } = splitBatch(data);
    checkRows(inputList(model, xs), ys.shape[0], 'validationData');
  }
  let outputsLogits = options.fromLogits === 'auto' ? null : options.fromLogits;
  if (outputsLogits === null) outputsLogits = outputIsLogits(outputs[0].sourceLayer as tfl.layers.Layer);
  if (outputsLogits === null) {
    if (options.rebalanceTau !== null) {
      const layer = outputs[0].sourceLayer as tfl.layers.Layer;
      throw new Error(
        `${OWNER}: fromLogits must be true or false when the final layer '${layer.name}' (${layer.getClassName()}) is neither ` +
          `softmax nor linear; received 'auto'.`,
      );
    }
    outputsLogits = true; // unused: argmax does not depend on it
  }
  return { numClasses, outputsLogits };
}

/** true: logits, false: probabilities, null: cannot tell. */
function outputIsLogits(layer: tfl.layers.Layer): boolean | null {
  if (layer.getClassName() === 'Softmax') return false;
  const activation = (layer.getConfig() as { activation?: unknown }).activation;
  if (activation === 'softmax') return false;
  if (activation === 'linear') return true;
  return null;
}
