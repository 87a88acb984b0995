import * as tf from '@tensorflow/tfjs';

/**
 * Shared by the baseline-loss tests: the 2 x 3 hand example and plain references.
 *
 * Logits chosen so that softmax has closed forms:
 *   row 1: z = [0, 0, ln 2] -> exp = [1, 1, 2] -> softmax = [1/4, 1/4, 1/2]
 *   row 2: z = [ln 3, 0, 0] -> exp = [3, 1, 1] -> softmax = [3/5, 1/5, 1/5]
 */
export const handLogits = (): tf.Tensor2D => tf.tensor2d([[0, 0, Math.LN2], [Math.log(3), 0, 0]]);

/** Per-sample softmax cross-entropy on logits, as a plain array (tfjs's own op). */
export function crossEntropy(labels: tf.Tensor, logits: tf.Tensor): number[] {
  return tf.tidy(() => {
    const oneHot = labels.rank === 1 ? tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1] as number) : labels;
    return Array.from(tf.losses.softmaxCrossEntropy(oneHot, logits, undefined, undefined, tf.Reduction.NONE).dataSync());
  });
}

/** Random logits and sparse labels, seeded. */
export function randomBatch(batch: number, numClasses: number, seed: number): { logits: tf.Tensor2D; labels: tf.Tensor1D } {
  const logits = tf.randomNormal([batch, numClasses], 0, 1.5, 'float32', seed) as tf.Tensor2D;
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 7 + seed) % numClasses), 'int32');
  return { logits, labels };
}

/** Central finite differences of sum(f(z)) with respect to every entry of z. */
export function finiteDifferenceGradient(f: (z: tf.Tensor2D) => tf.Tensor, z: number[][], h = 1e-2): number[] {
  const total = (values: number[][]) => tf.tidy(() => tf.sum(f(tf.tensor2d(values))).dataSync()[0]);
  const grad: number[] = [];
  z.forEach((row, i) =>
    row.forEach((_, j) => {
      const plus = z.map((r) => r.slice());
      const minus = z.map((r) => r.slice());
      plus[i][j] += h;
      minus[i][j] -= h;
      grad.push((total(plus) - total(minus)) / (2 * h));
    }),
  );
  return grad;
}

/** Lets pending promises (the losses' asynchronous invalid-row reads) settle. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Asserts that `loss` leaks no tensor in direct calls and training steps, once the invalid-row
 * counter its first training step creates exists; and that `dispose()` frees that counter and
 * the `heldBefore` tensors the loss held before training (e.g. class weights).
 */
export async function expectNoLeakOnceTrained(
  loss: { (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor; dispose(): void },
  labels: tf.Tensor,
  logits: tf.Tensor,
  heldBefore = 0,
): Promise<void> {
  const step = () => tf.grad((z: tf.Tensor) => tf.sum(loss(labels, z)))(logits).dispose();
  const before = tf.memory().numTensors;
  step();
  await settle();
  expect(tf.memory().numTensors).toBe(before + 1);
  for (let i = 0; i < 4; i++) {
    loss(labels, logits).dispose();
    step();
  }
  await settle();
  expect(tf.memory().numTensors).toBe(before + 1);
  loss.dispose();
  expect(tf.memory().numTensors).toBe(before - heldBefore);
}
