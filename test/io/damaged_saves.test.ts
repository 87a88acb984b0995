/**
 * Loading a damaged or partial save (issue 11, item 7): a missing or damaged `trainingConfig.tfjs_gala`
 * entry is an error that names model.json's entry and the field, never a loss silently reset to
 * zero; a config/state class-count mismatch and a removed block say what they are; and
 * `loadLayersModelWithoutTraining` loads the weights anyway. Every case runs on cpu and wasm.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { fileSystem } from '../../src/io/file_system';
import { loadLayersModelWithoutTraining } from '../../src/io/load_without_training';
import '../../src/io/save_load';
import { GalaLoss, galaLoss } from '../../src/losses/gala_loss';
import { focalLoss } from '../../src/losses/focal_loss';
import { expectClose } from '../helpers';
import { failingLoad as failingLoadOf, galaBlock, rejection, roundTrip, saveToMemory, smallData, smallModel, trainedModel, useBackend } from './io_helpers';

const RECOVERY = /loadLayersModelWithoutTraining\(source\) from tfjs-gala/;

describe.each(['cpu', 'wasm'])('a damaged save, on the %s backend', (backend) => {
  let saved: tf.io.ModelArtifacts;
  let predictions: number[];
  let modelWeights: number;
  let state: ReturnType<GalaLoss['getState']>;

  beforeAll(async () => {
    await useBackend(backend);
    const loss = galaLoss({ numClasses: 3, lambda1: 1.2, lambda2: 0.9 });
    const { m, xs } = await trainedModel(loss);
    saved = await saveToMemory(m);
    predictions = Array.from((m.predict(xs) as tf.Tensor).dataSync());
    modelWeights = m.weights.length;
    state = loss.getState();
    expect(state.steps).toBe(9);
    loss.dispose();
  });

  /** Loads edited artifacts; expects a rejection that leaks only the model's weights, as stock tfjs does. */
  const failingLoad = (edit: (a: tf.io.ModelArtifacts) => void): Promise<string> => failingLoadOf(saved, modelWeights, edit);

  it('the intact save loads (the control for the cases below)', async () => {
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(roundTrip(saved)));
    expect((loaded.loss as unknown as GalaLoss).getState()).toEqual(state);
    (loaded.loss as unknown as GalaLoss).dispose();
  });

  it('a missing state is an error naming model.json, trainingConfig.tfjs_gala and the field, not a reset to zero', async () => {
    const message = await failingLoad((a) => delete galaBlock(a).losses.loss.state);
    expect(message).toMatch(/^tf\.loadLayersModel: model\.json's trainingConfig\.tfjs_gala\.losses\.loss\.state must be the saved state of its \S*GalaLoss/);
    expect(message).toMatch(/received an entry without a state field/);
    expect(message).toMatch(RECOVERY);
  });

  it('a damaged state names where it is, the field and why', async () => {
    const message = await failingLoad((a) => {
      (galaBlock(a).losses.loss.state as Record<string, unknown>).negative = [0.5, -1, 0.25];
    });
    expect(message).toMatch(/^tf\.loadLayersModel: model\.json's trainingConfig\.tfjs_gala\.losses\.loss\.state must be a valid \S*GalaLoss state; received a damaged one: /);
    expect(message).toMatch(/state\.negative/);
    expect(message).toMatch(RECOVERY);

    const notAnObject = await failingLoad((a) => {
      galaBlock(a).losses.loss.state = 'corrupted';
    });
    expect(notAnObject).toMatch(/trainingConfig\.tfjs_gala\.losses\.loss\.state must be a valid \S*GalaLoss state; received a damaged one/);
  });

  it('a config and a state for different class counts report the mismatch, not a length error', async () => {
    const message = await failingLoad((a) => {
      const s = galaBlock(a).losses.loss.state as Record<string, number[]>;
      s.positive = [...s.positive, 0.1];
      s.negative = [...s.negative, 0.1];
    });
    expect(message).toMatch(
      /^tf\.loadLayersModel: model\.json's trainingConfig\.tfjs_gala\.losses\.loss must be a config and a state for the same number of classes; received a \S*GalaLoss config for 3 classes and a state for 4 \(state\.positive, state\.negative of length 4\)/,
    );
    const fewer = await failingLoad((a) => {
      galaBlock(a).losses.loss.config.numClasses = 4;
    });
    expect(fewer).toMatch(/config for 4 classes and a state for 3/);
  });

  it('a removed tfjs_gala block says it is missing, not to import tfjs-gala', async () => {
    const message = await failingLoad((a) => delete (a.trainingConfig as unknown as Record<string, unknown>).tfjs_gala);
    expect(message).toMatch(/^tf\.loadLayersModel: model\.json's trainingConfig\.tfjs_gala must be present: trainingConfig\.loss names a loss saved by tfjs-gala \(tfjs-gala\.GalaLoss\)/);
    expect(message).toMatch(/received a training config without it \(removed by hand, or by a tool that drops unknown keys\)/);
    expect(message).not.toMatch(/Unknown loss/);
    expect(message).toMatch(RECOVERY);
  });

  it('other damage names its field too: class name, config, format, a whole entry', async () => {
    expect(await failingLoad((a) => (galaBlock(a).losses.loss.class_name = 'NoSuchLoss'))).toMatch(
      /trainingConfig\.tfjs_gala\.losses\.loss\.class_name must be the className of a registered loss class; received "NoSuchLoss"\. Import the module/,
    );
    expect(await failingLoad((a) => (galaBlock(a).losses.loss.config.variant = 'unknown'))).toMatch(
      /trainingConfig\.tfjs_gala\.losses\.loss\.config must be a valid \S*GalaLoss config; received .*"variant":"unknown".*, which it rejects: .*variant must be one of/,
    );
    expect(await failingLoad((a) => (galaBlock(a).format = 7))).toMatch(
      /trainingConfig\.tfjs_gala\.format must be 1 or 2, the formats this version of tfjs-gala reads; received 7\. The model was saved by a newer tfjs-gala/,
    );
    expect(await failingLoad((a) => delete galaBlock(a).losses.loss)).toMatch(
      /trainingConfig\.tfjs_gala\.losses\.loss must be present: trainingConfig\.loss names a loss saved by tfjs-gala/,
    );
  });

  it('in a multi-output model, names the output whose entry is damaged and frees the losses already rebuilt', async () => {
    const input = tf.input({ shape: [4] });
    const a = tf.layers.dense({ units: 3, name: 'a' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 3, name: 'b' }).apply(input) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: [a, b] });
    const lossA = galaLoss({ numClasses: 3 });
    const lossB = galaLoss({ numClasses: 3, variant: 'reference' });
    m.compile({ optimizer: tf.train.sgd(0.1), loss: [lossA, lossB] });
    const { xs, ys } = smallData();
    await m.fit(xs, [ys, ys], { epochs: 1, batchSize: 8, verbose: 0 });
    const artifacts = await saveToMemory(m);
    delete galaBlock(artifacts).losses['1'].state;
    const before = tf.memory().numTensors;
    const message = await rejection(tf.loadLayersModel(tf.io.fromMemory(artifacts)));
    expect(message).toMatch(/model\.json's trainingConfig\.tfjs_gala\.losses\["1"\]\.state must be the saved state/);
    // Output 0's loss was rebuilt first: its four variables are freed with the error.
    expect(tf.memory().numTensors - before).toBe(m.weights.length);
    lossA.dispose();
    lossB.dispose();
  });

  it('a loss without state (stateless) needs no state field', async () => {
    const m = smallModel();
    m.compile({ optimizer: tf.train.sgd(0.1), loss: focalLoss({ gamma: 2 }) });
    const artifacts = await saveToMemory(m);
    expect(galaBlock(artifacts).losses.loss.state).toBeUndefined();
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect((loaded.loss as unknown as { getConfig(): object }).getConfig()).toMatchObject({ gamma: 2 });
  });

  describe('loadLayersModelWithoutTraining', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-gala-damaged-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('loads the weights of a save whose tfjs_gala entry is damaged; the model compiles with a new loss and trains', async () => {
      const artifacts = roundTrip(saved);
      delete galaBlock(artifacts).losses.loss.state;
      const model = await loadLayersModelWithoutTraining(tf.io.fromMemory(artifacts));
      expect(model.optimizer).toBeUndefined();
      const { xs, ys } = smallData();
      expectClose(model.predict(xs) as tf.Tensor, predictions, 1e-5);
      const loss = galaLoss({ numClasses: 3 });
      model.compile({ optimizer: tf.train.adam(0.01), loss });
      await model.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
      expect(loss.getState().steps).toBe(3);
      loss.dispose();
    });

    it('takes a URL as tf.loadLayersModel does (file:// here), and the model.json on disk is left as it was', async () => {
      const folder = path.join(dir, 'm');
      await fileSystem(folder).save!(roundTrip(saved));
      const file = path.join(folder, 'model.json');
      const json = JSON.parse(fs.readFileSync(file, 'utf8'));
      json.trainingConfig.tfjs_gala.losses.loss.state = { positive: 'garbage' };
      fs.writeFileSync(file, JSON.stringify(json));
      await expect(tf.loadLayersModel(`file://${folder}`)).rejects.toThrow(/trainingConfig\.tfjs_gala\.losses\.loss\.state must be a valid/);
      const model = await loadLayersModelWithoutTraining(`file://${folder}`);
      expectClose(model.predict(smallData().xs) as tf.Tensor, predictions, 1e-5);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(json);
    });

    it('leaks nothing: the optimizer weights it skips are freed', async () => {
      const before = tf.memory().numTensors;
      const model = await loadLayersModelWithoutTraining(tf.io.fromMemory(roundTrip(saved)));
      expect(tf.memory().numTensors - before).toBe(modelWeights);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

    it('rejects a source that is neither a URL nor an IOHandler', async () => {
      await expect(loadLayersModelWithoutTraining({} as tf.io.IOHandler)).rejects.toThrow(
        /^loadLayersModelWithoutTraining: source must be a URL string or an IOHandler with load\(\); received an object without load\(\)\.$/,
      );
      await expect(loadLayersModelWithoutTraining(42 as unknown as string)).rejects.toThrow(/received 42\./);
    });
  });
});
