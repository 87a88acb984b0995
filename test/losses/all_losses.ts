import { balancedSoftmaxLoss } from '../../src/losses/balanced_softmax_loss';
import type { ClassificationLoss } from '../../src/losses/classification_loss';
import { crossEntropyLoss } from '../../src/losses/cross_entropy_loss';
import { focalLoss } from '../../src/losses/focal_loss';
import { galaLoss } from '../../src/losses/gala_loss';
import { ldamLoss } from '../../src/losses/ldam_loss';
import { logitAdjustedLoss } from '../../src/losses/logit_adjusted_loss';

/** Every loss the package ships, for 3 classes: [bare class name, function name, a fresh loss]. */
export const ALL_LOSSES: Array<[string, string, () => ClassificationLoss]> = [
  ['GalaLoss', 'gala_loss', () => galaLoss({ numClasses: 3, lambda1: 1.2, lambda2: 0.9 })],
  ['CrossEntropyLoss', 'cross_entropy_loss', () => crossEntropyLoss()],
  ['FocalLoss', 'focal_loss', () => focalLoss({ gamma: 2, alpha: [1, 2, 3] })],
  ['LogitAdjustedLoss', 'logit_adjusted_loss', () => logitAdjustedLoss({ classCounts: [6, 3, 1] })],
  ['BalancedSoftmaxLoss', 'balanced_softmax_loss', () => balancedSoftmaxLoss({ classCounts: [6, 3, 1] })],
  ['LDAMLoss', 'ldam_loss', () => ldamLoss({ classCounts: [6, 3, 1], scale: 2, classWeights: [1, 2, 3] })],
];

/** The backends every behaviour test runs on: pure-JS cpu and wasm (see docs/guide/05-backends.md). */
export const BACKENDS = ['cpu', 'wasm'];
