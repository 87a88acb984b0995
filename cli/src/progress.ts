/** Progress bars of the demo and the benchmark (cli-progress, drawn on stderr). */

import { SingleBar } from 'cli-progress';

import type { BatchProgress } from './trainer';

/**
 * A bar labelled `label` showing the epoch and the last batch loss. Nothing is drawn when the
 * stream is not a terminal (logs, pipes): the tables say it all.
 */
export function createProgressBar(stream: NodeJS.WritableStream, label: string): SingleBar {
  const bar = new SingleBar({
    format: `${label.padEnd(16)} |{bar}| epoch {epoch} | loss {loss} | {duration_formatted}`,
    stream,
    hideCursor: true,
    noTTYOutput: false,
  });
  bar.start(1, 0, { epoch: 0, loss: '-' });
  return bar;
}

/** A `TrainOptions.onBatchEnd` that moves `bar` over the `epochs` of one training run. */
export function trackEpochs(bar: SingleBar, epochs: number): (progress: BatchProgress) => void {
  return ({ epoch, batch, batchesPerEpoch, loss }) => {
    if (epoch === 0 && batch === 0) bar.setTotal(epochs * batchesPerEpoch);
    bar.update(epoch * batchesPerEpoch + batch + 1, { epoch: epoch + 1, loss: loss.toFixed(4) });
  };
}
