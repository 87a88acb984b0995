import { checkImbalanceFactors, checkSchedule, DEFAULT_PROTOCOL, REFERENCE_PROTOCOL, sameSchedule, scheduleOf } from '../src/protocol';

describe('the training protocol', () => {
  it("defaults to the reference run's MLP at IF 100, seed 0", () => {
    expect(DEFAULT_PROTOCOL).toEqual({ model: 'mlp', imbalanceFactor: 100, nMax: 500, epochs: 30, batchSize: 128, learningRate: 1e-3, seed: 0, initialization: 'pytorch' });
    expect(REFERENCE_PROTOCOL).toMatchObject({ imbalanceFactors: [10, 50, 100], seeds: [0, 1, 2] });
    expect(sameSchedule(scheduleOf(DEFAULT_PROTOCOL), { ...scheduleOf(DEFAULT_PROTOCOL), model: 'cnn' })).toBe(false);
  });

  it.each([
    [{ model: 'resnet' }, '--model: the model must be one of mlp, cnn; received resnet.'],
    [{ nMax: 0 }, "--n-max: the head class's training images must be an integer >= 1; received 0."],
    [{ epochs: 1.5 }, '--epochs: the number of epochs must be an integer >= 1; received 1.5.'],
    [{ batchSize: -1 }, '--batch-size: the batch size must be an integer >= 1; received -1.'],
    [{ learningRate: 0 }, '--lr: the learning rate must be a finite number > 0; received 0.'],
    [{ initialization: 'he' }, '--init: the initialisation must be one of glorot, pytorch; received he.'],
  ])('checkSchedule rejects %p', (change, message) => {
    expect(() => checkSchedule({ ...scheduleOf(DEFAULT_PROTOCOL), ...(change as object) })).toThrow(message);
  });

  it('checkImbalanceFactors names the options and the rarest class', () => {
    expect(() => checkImbalanceFactors([0.5], 500)).toThrow('--imbalance: the imbalance factor must be a finite number >= 1; received 0.5.');
    expect(() => checkImbalanceFactors([10, 100], 50)).toThrow(
      "--n-max: the head class's training images must be at least the imbalance factor (100), or the rarest class gets floor(n-max / imbalance) = 0 images; received 50.",
    );
    expect(() => checkImbalanceFactors([10, 100], 100)).not.toThrow();
  });
});
