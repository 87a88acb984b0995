import { CallableLoss, bareClassName } from './callable_loss';

/**
 * Base of the losses that hold tensors (`tf.Variable`s) between calls, such as the
 * accumulated gradients of `GalaLoss`, the switchable class weights of `LDAMLoss`,
 * or the invalid-label-row counter every package loss creates on its first training batch
 * (see {@link ClassificationLoss}).
 *
 * It owns the shared life cycle: {@link StatefulLoss.dispose} frees the tensors once (a second
 * call does nothing), {@link StatefulLoss.isDisposed} reports it, and subclasses call
 * {@link StatefulLoss.assertUsable} at the top of every method that reads or writes their
 * state, so a disposed loss fails with its class name instead of a tfjs "disposed tensor"
 * error. Subclasses implement {@link StatefulLoss.disposeState}.
 */
export abstract class StatefulLoss extends CallableLoss {
  private disposed = false;

  /** Frees the loss's tensors. The loss cannot be used afterwards; calling it again does nothing. */
  dispose(): void {
    if (this.disposed) return;
    this.disposeState();
    this.disposed = true;
  }

  /** Whether {@link StatefulLoss.dispose} was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Disposes every tensor the subclass holds. Called once, by {@link StatefulLoss.dispose}. */
  protected abstract disposeState(): void;

  /** @throws Error naming the class when the loss was disposed. */
  protected assertUsable(): void {
    if (this.disposed) {
      const name = bareClassName(this.getClassName());
      throw new Error(`${name}: this loss was disposed, which freed its state; create a new ${name} to go on.`);
    }
  }
}
