import * as tf from '@tensorflow/tfjs-core';

/** Signature tfjs-layers expects of a loss in `model.compile({loss})`. */
export type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

/**
 * Base of the package's loss classes. An instance is itself a function
 * `(yTrue, yPred) => Tensor1D`, because `compile({loss})` reads any non-function object
 * as a per-output dictionary of losses. Subclasses implement {@link CallableLoss.compute}
 * and {@link CallableLoss.getConfig}; `fromConfig` is `new Cls(config)` (Keras convention).
 * Each concrete subclass declares a literal `static className` and is registered with
 * {@link registerLoss} right after its definition; losses that hold tensors extend
 * {@link StatefulLoss}.
 *
 * The constructor returns a function object whose prototype is the subclass prototype, so
 * `instanceof`, methods and fields all work on it. No `Function` constructor (and so no
 * `eval`) is involved: it runs under a strict Content-Security-Policy.
 */
export abstract class CallableLoss {
  /**
   * Serialization name, also used as the loss name in saved training configs. The package's
   * own classes use package-qualified names (`'tfjs-gala.GalaLoss'`), so a message about an
   * unknown class names the package to import.
   */
  static className: string;

  constructor() {
    const loss = function (this: unknown, yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
      return (loss as unknown as CallableLoss).compute(yTrue, yPred);
    };
    // tfjs names a function metric after the function: `gala_loss`, not `loss`, which would
    // collide with tfjs's own `loss` / `val_loss` entries when the loss is also a metric.
    Object.defineProperty(loss, 'name', { value: lossFunctionName(new.target.className), configurable: true });
    Object.setPrototypeOf(loss, new.target.prototype);
    // Fields of subclasses are defined on the returned object (JS constructor semantics).
    return loss as unknown as CallableLoss;
  }

  /**
   * Per-sample loss.
   * @param yTrue labels: one-hot `[batch, numClasses]` or sparse class indices `[batch]` / `[batch, 1]`.
   * @param yPred model outputs `[batch, numClasses]` (logits or probabilities, see `fromLogits`).
   * @returns float32 `[batch]`.
   */
  abstract compute(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor;

  /** Constructor arguments as plain JSON (`fromConfig(getConfig())` rebuilds an equal loss). */
  abstract getConfig(): tf.serialization.ConfigDict;

  /**
   * Rebuilds a loss from {@link CallableLoss.getConfig}'s output (used by
   * `tf.serialization`): config keys equal constructor arguments.
   */
  static fromConfig<T>(cls: new (config: never) => T, config: tf.serialization.ConfigDict): T {
    return new cls(config as never);
  }

  /** Name tfjs-layers uses when it serializes the class (`static className`). */
  getClassName(): string {
    return (this.constructor as typeof CallableLoss).className;
  }
}

/**
 * The class name without its package qualifier: `'tfjs-gala.GalaLoss'` -> `'GalaLoss'`, as error
 * messages name the class.
 */
export function bareClassName(className: string): string {
  return className.slice(className.lastIndexOf('.') + 1);
}

/**
 * The loss function's `name`, which tfjs uses as the metric name and history key when the loss
 * is listed in `metrics`: the bare class name in snake_case, `'GalaLoss'` -> `'gala_loss'`,
 * `'LDAMLoss'` -> `'ldam_loss'` (the conversion tfjs applies to class names).
 */
export function lossFunctionName(className: string | undefined): string {
  if (typeof className !== 'string' || className.length === 0) return 'loss';
  return bareClassName(className)
    .replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

// Instances are functions: keep `call`, `apply`, `bind` and `instanceof Function` working.
Object.setPrototypeOf(CallableLoss.prototype, Function.prototype);

// Declaration merging: instances are callable.
export interface CallableLoss extends LossFn {}
