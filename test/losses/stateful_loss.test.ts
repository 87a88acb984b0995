import * as tf from '@tensorflow/tfjs';

import { CallableLoss } from '../../src/losses/callable_loss';
import { CrossEntropyLoss } from '../../src/losses/cross_entropy_loss';
import { galaLoss } from '../../src/losses/gala_loss';
import { ldamLoss } from '../../src/losses/ldam_loss';
import { registerLoss } from '../../src/losses/register_loss';
import { StatefulLoss } from '../../src/losses/stateful_loss';
import { handLogits, settle } from './baseline_reference';

// The losses that hold tf.Variables share one life cycle through StatefulLoss.
// Every package loss counts invalid label rows in a variable created by its first training step.
const makers: Array<[string, () => StatefulLoss, number]> = [
  // [name, a loss, the tensors it holds before training]
  ['GalaLoss', () => galaLoss({ numClasses: 3 }), 5],
  ['LDAMLoss with class weights', () => ldamLoss({ classCounts: [5, 2, 1], scale: 1, classWeights: [1, 2, 3] }), 1],
  ['CrossEntropyLoss', () => new CrossEntropyLoss(), 0],
];

describe.each(makers)('%s as a StatefulLoss', (_, make, tensors) => {
  it('frees its tensors once; a second dispose does nothing', () => {
    const before = tf.memory().numTensors;
    const loss = make();
    expect(loss).toBeInstanceOf(StatefulLoss);
    expect(loss).toBeInstanceOf(CallableLoss);
    expect(tf.memory().numTensors).toBe(before + tensors);
    expect(loss.isDisposed).toBe(false);
    loss.dispose();
    expect(loss.isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => loss.dispose()).not.toThrow();
  });

  it('frees the invalid-row counter its training created', async () => {
    const labels = tf.tensor1d([0, 1]);
    const logits = handLogits();
    const before = tf.memory().numTensors;
    const loss = make();
    tf.grad((z: tf.Tensor) => tf.sum(loss(labels, z)))(logits).dispose();
    await settle();
    expect(tf.memory().numTensors).toBe(before + tensors + 1);
    loss.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([labels, logits]);
  });

  it('refuses to run once disposed, naming its class without the package qualifier', () => {
    const loss = make();
    loss.dispose();
    const name = loss.getClassName().replace('tfjs-gala.', '');
    expect(() => loss(tf.tensor1d([0, 1]), handLogits())).toThrow(new RegExp(`^${name}: this loss was disposed`));
  });
});

describe('registerLoss', () => {
  it('registers a loss class under its className, with no cast at the call site', () => {
    class HalfCrossEntropy extends CrossEntropyLoss {
      static override className = 'TestOnlyHalfCrossEntropy';
      override compute(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor1D {
        return tf.tidy(() => tf.mul(super.compute(yTrue, yPred), 0.5) as tf.Tensor1D);
      }
    }
    expect(registerLoss(HalfCrossEntropy)).toBe(HalfCrossEntropy);
    const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap.TestOnlyHalfCrossEntropy;
    expect(cls).toBe(HalfCrossEntropy);
    const copy = fromConfig(cls, { fromLogits: true }) as unknown as HalfCrossEntropy;
    expect(copy).toBeInstanceOf(HalfCrossEntropy);
    expect(copy.getClassName()).toBe('TestOnlyHalfCrossEntropy');
  });

  it("refuses a class that inherits its parent's className (it would replace the parent in the registry)", () => {
    class Unnamed extends CrossEntropyLoss {}
    expect(() => registerLoss(Unnamed)).toThrow(
      /^registerLoss: cls must declare its own static className \(a non-empty string literal\); received class Unnamed with no className of its own\.$/,
    );
    expect(tf.serialization.SerializationMap.getMap().classNameMap['tfjs-gala.CrossEntropyLoss'][0]).toBe(CrossEntropyLoss);
  });

  it('refuses an empty className', () => {
    class Empty extends CrossEntropyLoss {
      static override className = '';
    }
    expect(() => registerLoss(Empty)).toThrow(/received class Empty with className ""\.$/);
  });
});
