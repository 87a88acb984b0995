import * as tf from '@tensorflow/tfjs';

/** Jest-friendly replacement for tf.test_util.expectArraysClose (which ends in a Jasmine call). */
export function expectClose(actual: tf.Tensor | ArrayLike<number> | number, expected: tf.Tensor | ArrayLike<number> | number, tol = 1e-5): void {
  const a = toArray(actual);
  const e = toArray(expected);
  expect(a.length).toBe(e.length);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(e[i])) {
      expect(Number.isNaN(a[i])).toBe(true);
      continue;
    }
    if (Number.isNaN(a[i]) || Math.abs(a[i] - e[i]) > tol * Math.max(1, Math.abs(e[i]))) {
      throw new Error(`index ${i}: got ${a[i]}, expected ${e[i]} (tolerance ${tol}); got [${a.slice(0, 20).join(', ')}], expected [${e.slice(0, 20).join(', ')}]`);
    }
  }
}

function toArray(x: tf.Tensor | ArrayLike<number> | number): number[] {
  if (typeof x === 'number') return [x];
  if (x instanceof tf.Tensor) return Array.from(x.dataSync());
  return Array.from(x);
}

/** Runs `fn` and asserts it leaves no new tensor behind. */
export async function expectNoLeak(fn: () => unknown | Promise<unknown>): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  expect(tf.memory().numTensors).toBe(before);
}
