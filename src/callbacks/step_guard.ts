/**
 * The variable capture behind {@link SkipNonFiniteSteps}: the value each variable had before a
 * training step (kept by reference, no copy), and the on-device choice, after the step, between
 * its new and its old value.
 */
import * as tf from '@tensorflow/tfjs-core';

import type { SkipNonFiniteSteps } from './skip_non_finite_steps';

type AssignFn = (this: tf.Variable, value: tf.Tensor) => void;

/** What {@link captureAssignments} returns: `run`'s result, and each assigned variable's value before it. */
export interface CapturedStep<T> {
  readonly result: T;
  /** Kept tensors (`tf.keep`), owned by the caller: dispose them when done. */
  readonly before: Map<tf.Variable, tf.Tensor>;
}

/**
 * Runs `run` (synchronously) with `tf.Variable.prototype.assign` swapped for one that first keeps
 * each variable's value before its first assignment; the stock `assign` is back on return. When
 * `run` throws, the kept values are disposed and the error rethrown.
 */
export function captureAssignments<T>(varList: tf.Variable[] | undefined, run: () => T): CapturedStep<T> {
  const proto = variablePrototype(varList);
  const assign = proto.assign as AssignFn;
  const before = new Map<tf.Variable, tf.Tensor>();
  proto.assign = function recordingAssign(this: tf.Variable, value: tf.Tensor): void {
    if (!before.has(this) && !this.isDisposed) before.set(this, tf.keep(tf.clone(this)));
    assign.call(this, value);
  };
  try {
    return { result: run(), before };
  } catch (error) {
    tf.dispose([...before.values()]);
    throw error;
  } finally {
    proto.assign = assign;
  }
}

/**
 * Assigns each captured variable `where(finite, new, old)`: its new value when `finite` (a bool
 * scalar) is true, its value before the step otherwise. `applied` is `finite` as a float32 scalar.
 * Call inside a `tf.tidy`.
 */
export function keepOrUndo(before: ReadonlyMap<tf.Variable, tf.Tensor>, finite: tf.Tensor, applied: tf.Tensor): void {
  // One full-shape condition per distinct shape, shared by the variables of that shape
  // (a weight and its optimizer slots): tf.where would broadcast the scalar for each.
  const conditions = new Map<string, tf.Tensor>();
  for (const [variable, old] of before) {
    if (variable.isDisposed) continue;
    const key = variable.shape.join(',');
    let condition = conditions.get(key);
    if (condition == null) {
      condition = fullCondition(finite, applied, variable.shape);
      conditions.set(key, condition);
    }
    variable.assign(tf.where(condition, variable, old));
  }
}

/**
 * `finite` (a bool scalar) broadcast to `shape`. The cheapest construction differs by backend
 * (measured on tfjs 4.22, a [784, 256] tensor): wasm's bool Tile is about 10x slower than
 * `cast(zeros + applied)`; on the cpu backend Tile is the faster of the two.
 */
function fullCondition(finite: tf.Tensor, applied: tf.Tensor, shape: number[]): tf.Tensor {
  if (shape.length === 0) return finite;
  if (tf.getBackend() === 'wasm') return tf.cast(tf.add(tf.zeros(shape), applied), 'bool');
  return tf.broadcastTo(tf.reshape(finite, shape.map(() => 1)), shape);
}

/** The prototype that owns `assign` for the variables being trained (tfjs-core's `Variable.prototype`). */
function variablePrototype(varList?: tf.Variable[]): { assign: unknown } {
  let proto: object | null = varList != null && varList.length > 0 ? Object.getPrototypeOf(varList[0]) : tf.Variable.prototype;
  while (proto != null && !Object.prototype.hasOwnProperty.call(proto, 'assign')) proto = Object.getPrototypeOf(proto);
  return (proto ?? tf.Variable.prototype) as { assign: unknown };
}
