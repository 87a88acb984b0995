import * as tf from '@tensorflow/tfjs-core';

import type { CallableLoss } from './callable_loss';

/**
 * Registers a loss class with `tf.serialization`, so that `tf.loadLayersModel` (through the
 * package's save/load hooks) can rebuild it from its `className` and `getConfig()`.
 *
 * The class must declare its own literal `static className`: minifiers rename classes, and
 * the registry is keyed by that name alone, so a subclass that inherited its parent's name
 * would silently replace the parent there. The name is also what saved models store, so it
 * must never change once models have been saved with it.
 *
 * ```ts
 * class MyLoss extends CallableLoss {
 *   static override className = 'MyLoss';
 *   // compute(yTrue, yPred) and getConfig()
 * }
 * registerLoss(MyLoss);
 * ```
 *
 * @param cls a concrete subclass of {@link CallableLoss}.
 * @returns `cls`, registered.
 * @throws Error when `cls` has no `className` of its own, or it is not a non-empty string.
 */
export function registerLoss<T extends CallableLoss>(
  cls: tf.serialization.SerializableConstructor<T>,
): tf.serialization.SerializableConstructor<T> {
  const ownName = Object.prototype.hasOwnProperty.call(cls, 'className') ? cls.className : undefined;
  if (typeof ownName !== 'string' || ownName.length === 0) {
    throw new Error(
      `registerLoss: cls must declare its own static className (a non-empty string literal); ` +
        `received ${typeof cls === 'function' ? `class ${cls.name || '(anonymous)'}` : String(cls)} with ` +
        `${ownName === undefined ? 'no className of its own' : `className ${JSON.stringify(ownName)}`}.`,
    );
  }
  return tf.serialization.registerClass(cls);
}
