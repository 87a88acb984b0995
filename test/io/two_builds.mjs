// Loads both builds of the package into one Node process: the ES module (index.js, by import)
// and the CommonJS one (index.cjs, by require), as an app whose dependencies use both does.
// Both share one tfjs. Prints one line, `RESULT <json>`, for test/io/two_builds.test.ts.
//
//   node test/io/two_builds.mjs <dist folder>
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = path.resolve(process.argv[2]);
const require = createRequire(path.join(dist, 'index.cjs'));
const tf = require('@tensorflow/tfjs');
const esm = await import(pathToFileURL(path.join(dist, 'index.js')).href);
const cjs = require(path.join(dist, 'index.cjs'));

await tf.setBackend('cpu');
const proto = tf.LayersModel.prototype;
const out = {
  twoCopies: esm.galaLoss !== cjs.galaLoss,
  recorded: Object.prototype.hasOwnProperty.call(proto, Symbol.for('tfjs-gala.saveLoadHooks')),
};

/** Trains with `makeLoss`, saves with the training config, loads; the states, or the error. */
async function roundTrip(makeLoss) {
  const loss = makeLoss({ numClasses: 3 });
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] });
  model.compile({ optimizer: tf.train.sgd(0.1), loss });
  const xs = tf.randomNormal([12, 4], 0, 1, 'float32', 1);
  const ys = tf.oneHot(tf.tensor1d([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2], 'int32'), 3);
  await model.fit(xs, ys, { epochs: 2, batchSize: 4, verbose: 0 });
  try {
    let artifacts;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
      { includeOptimizer: true },
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    await loaded.fit(xs, ys, { epochs: 1, batchSize: 4, verbose: 0 });
    return { saved: loss.getState(), loaded: loaded.loss.getState() };
  } catch (err) {
    return { error: err.message };
  }
}

out.esmLoss = await roundTrip(esm.galaLoss);
out.cjsLoss = await roundTrip(cjs.galaLoss);
// Removed through one copy, installed again through the other.
out.uninstalled = typeof cjs.uninstallSaveLoadHooks === 'function' ? cjs.uninstallSaveLoadHooks() : 'not exported';
out.installedAfterUninstall = Object.prototype.hasOwnProperty.call(proto, Symbol.for('tfjs-gala.saveLoadHooks'));
out.stock = await roundTrip(esm.galaLoss);
if (typeof esm.installSaveLoadHooks === 'function') esm.installSaveLoadHooks();
out.reinstalled = await roundTrip(cjs.galaLoss);
console.log('RESULT ' + JSON.stringify(out));
