/** Synchronous reads (`dataSync`, `arraySync`) on tfjs's webgpu backend in Node. */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Makes the next synchronous reads (`dataSync`, `arraySync`) of these tensors work on tfjs's
 * webgpu backend in Node: it reads them asynchronously (`await t.data()`), and tfjs-webgpu keeps
 * the values it read on the CPU, where a synchronous read finds them until the tensor changes.
 * Without tensors: every tfjs variable (model weights, optimizer slots, loss state such as
 * GalaLoss's), which is what `GalaLoss.getState()` and `model.save(..., {includeOptimizer:
 * true})` with a GalaLoss read synchronously. Call it right before such a read; a training step
 * in between replaces the variables' values and needs another call. Costs one GPU-to-CPU copy
 * per tensor.
 * @param tensors the tensors about to be read synchronously (default: all variables).
 */
export async function prepareSyncReads(tensors?: readonly tf.Tensor[]): Promise<void> {
  let targets: readonly tf.Tensor[];
  if (tensors != null) {
    targets = tensors.filter((t) => !t.isDisposed);
  } else {
    // Only variables whose data is held by the active backend: others read synchronously
    // anyway, and those of a removed backend (after releaseNodeWebGPU) cannot be read at all.
    const engine = tf.engine() as unknown as { backend: tf.KernelBackend; state: { tensorInfo: WeakMap<object, { backend: tf.KernelBackend }> } };
    const active = engine.backend;
    targets = Object.values(tf.engine().state.registeredVariables).filter(
      (v) => !v.isDisposed && engine.state.tensorInfo.get(v.dataId)?.backend === active,
    );
  }
  await Promise.all(targets.map((t) => t.data()));
}
