import * as tf from '@tensorflow/tfjs';

import { adjustLogitsPostHoc } from '../../src/losses/post_hoc_logit_adjustment';
import { expectClose, expectNoLeak } from '../helpers';
import { handLogits } from './baseline_reference';

describe('adjustLogitsPostHoc', () => {
  it('matches hand-derived values: z - tau log pi', () => {
    // pi = [1/2, 1/4, 1/4]: -log pi = [ln 2, ln 4, ln 4].
    //   row 1: [0, 0, ln 2] + [ln 2, ln 4, ln 4] = [ln 2, ln 4, ln 8]
    //   row 2: [ln 3, 0, 0] + [ln 2, ln 4, ln 4] = [ln 6, ln 4, ln 4]
    const adjusted = adjustLogitsPostHoc(handLogits(), { classCounts: [2, 1, 1] });
    expect(adjusted.shape).toEqual([2, 3]);
    expectClose(adjusted, [Math.log(2), Math.log(4), Math.log(8), Math.log(6), Math.log(4), Math.log(4)], 1e-6);
  });

  it('scales the shift by tau and leaves logits unchanged with tau 0', () => {
    const logits = handLogits();
    const half = adjustLogitsPostHoc(logits, { priors: [0.5, 0.25, 0.25], tau: 0.5 });
    expectClose(half, tf.add(logits, tf.tensor2d([[0.5 * Math.log(2), Math.log(2), Math.log(2)]])), 1e-6);
    expectClose(adjustLogitsPostHoc(logits, { priors: [0.5, 0.25, 0.25], tau: 0 }), logits, 1e-7);
  });

  it('moves the prediction of an ambiguous sample to the rarer class', () => {
    const logits = tf.tensor2d([[1, 0.9]]);
    expect(tf.argMax(logits, 1).dataSync()[0]).toBe(0);
    expect(tf.argMax(adjustLogitsPostHoc(logits, { classCounts: [100, 10] }), 1).dataSync()[0]).toBe(1);
  });

  it.each([
    [{}, /adjustLogitsPostHoc: pass exactly one of classCounts .*; received neither/],
    [{ classCounts: [2, 1, 1], tau: -0.5 }, /^adjustLogitsPostHoc: tau must be a finite number >= 0; received -0.5/],
    [{ priors: [1, 0, 1] }, /^adjustLogitsPostHoc: priors must be an array of at least 2 finite numbers > 0/],
  ])('rejects bad args %j', (args, message) => {
    expect(() => adjustLogitsPostHoc(handLogits(), args as never)).toThrow(message);
  });

  it('rejects logits of the wrong shape', () => {
    expect(() => adjustLogitsPostHoc(tf.zeros([2, 4]), { classCounts: [2, 1, 1] })).toThrow(
      /logits must be a \[batch, 3\] tensor .*; received shape \[2, 4\]/,
    );
  });

  it('leaks no tensor besides its result', async () => {
    const logits = handLogits();
    await expectNoLeak(() => adjustLogitsPostHoc(logits, { classCounts: [2, 1, 1] }).dispose());
  });
});
