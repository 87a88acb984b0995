/**
 * The example shared by index.html (tfjs and tfjs-gala from <script> tags) and module.html
 * (ES modules through an import map): train a small classifier on long-tailed Fashion-MNIST
 * with the GALA loss, watch the gradient imbalance live, save to IndexedDB, reload, and compare
 * per-class accuracy with and without prediction re-balancing.
 *
 * Everything it measures is also put on `window.galaResult` for the browser test.
 */

const DATA_URL = new URL('../../cli/data/fashion-mnist-lt/', import.meta.url);
const MODEL_URL = 'indexeddb://tfjs-gala-example';
const BACKENDS = ['webgl', 'wasm', 'webgpu', 'cpu'];

/**
 * The long-tailed training split: n_c = floor(nMax * IF^(-c/9)), i.e. 200 119 71 43 25 15 9 5 3 2
 * images for classes 0..9 (492 in all), drawn from the committed subset; the test split is
 * balanced (200 per class).
 */
const LONG_TAIL = { imbalanceFactor: 100, nMax: 200, seed: 0 };
const DEFAULT_EPOCHS = 10;
const BATCH_SIZE = 64;
const LEARNING_RATE = 3e-3;
const TAU = 1;

/**
 * Runs the example.
 * @param {object} deps
 * @param {object} deps.tf the tfjs instance (the union package `@tensorflow/tfjs`).
 * @param {object} deps.gala the tfjs-gala module (the `tfjsGala` global or the ES module).
 * @param {object|null} deps.tfvis `@tensorflow/tfjs-vis`, or null for no charts.
 * @param {(name: string) => Promise<void>} [deps.loadBackend] loads the code of a backend tfjs
 *   does not include (wasm, webgpu) before `tf.setBackend`.
 * @param {string} deps.variant 'script' or 'module', reported in the result.
 */
export async function runDemo({ tf, gala, tfvis, loadBackend, variant }) {
  const params = new URLSearchParams(location.search);
  const requestedBackend = params.get('backend') ?? 'webgl';
  const epochs = Number(params.get('epochs') ?? DEFAULT_EPOCHS);
  const started = performance.now();
  const ui = userInterface();
  try {
    if (!BACKENDS.includes(requestedBackend)) {
      throw new Error(`?backend= must be one of ${BACKENDS.join(', ')}; received '${requestedBackend}'.`);
    }
    if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`?epochs= must be an integer >= 1; received '${params.get('epochs')}'.`);

    ui.status(`Starting the ${requestedBackend} backend...`);
    const backendInfo = await startBackend(tf, requestedBackend, loadBackend);
    ui.status(`Loading long-tailed Fashion-MNIST on ${tf.getBackend()}...`);
    const data = await loadData(gala);
    const result = await trainAndEvaluate({ tf, gala, tfvis, ui, data, epochs });
    const summary = {
      ok: true,
      variant,
      backend: tf.getBackend(),
      ...backendInfo,
      tfjsVersion: tf.version.tfjs,
      classCounts: data.classCounts,
      classNames: gala.FASHION_MNIST_CLASS_NAMES,
      numTrain: data.train.numExamples,
      numTest: data.test.numExamples,
      epochs,
      ...result,
      seconds: (performance.now() - started) / 1000,
    };
    ui.status(
      `Done on ${summary.backend} in ${summary.seconds.toFixed(1)} s. Reloaded from IndexedDB: ` +
        `${summary.predsEqual ? 'same predictions' : 'PREDICTIONS DIFFER'} (max |difference| ${summary.maxPredictionDifference.toExponential(1)}), ` +
        `GALA state ${summary.stateAfter.steps} steps (${summary.stateBefore.steps} before saving).`,
    );
    window.galaResult = summary;
  } catch (error) {
    console.error(error);
    ui.status(`Failed: ${error.message}`, true);
    window.galaResult = { ok: false, variant, backend: tf.getBackend(), error: String(error.message ?? error), stack: String(error.stack ?? ''), log: ui.log };
  }
}

/** Sets the backend and checks that tfjs did not fall back to another one (setBackend only resolves false). */
async function startBackend(tf, name, loadBackend) {
  if (tf.findBackendFactory(name) == null) {
    if (loadBackend == null) throw new Error(`The ${name} backend is not available on this page.`);
    await loadBackend(name);
  }
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`tf.setBackend('${name}') failed: tfjs runs on '${tf.getBackend()}' instead (see the console for why).`);
  }
  const info = { crossOriginIsolated: self.crossOriginIsolated === true };
  if (name === 'wasm') {
    info.wasmSimd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    info.wasmThreads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  }
  return info;
}

/** The committed IDX files, decompressed in the browser and decoded with the package's decodeIdx. */
async function loadData(gala) {
  const read = async (name) => {
    const response = await fetch(new URL(name, DATA_URL));
    if (!response.ok) throw new Error(`GET ${response.url}: ${response.status} ${response.statusText}`);
    const compressed = new Blob([await response.arrayBuffer()]);
    const inflated = compressed.stream().pipeThrough(new DecompressionStream('gzip'));
    return gala.decodeIdx(new Uint8Array(await new Response(inflated).arrayBuffer()), name);
  };
  const split = async (images, labels) => {
    const [x, y] = await Promise.all([read(images), read(labels)]);
    const [count, height, width] = x.shape;
    return { images: x.data, labels: y.data, count, height, width };
  };
  const [train, test] = await Promise.all([
    split('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    split('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
  ]);
  return gala.makeLongTailed({ train, test }, LONG_TAIL);
}

async function trainAndEvaluate({ tf, gala, tfvis, ui, data, epochs }) {
  const numClasses = data.numClasses;
  const { train, test } = data;
  const trainX = tf.tensor2d(train.features, [train.numExamples, train.numFeatures]);
  const trainY = tf.tidy(() => tf.oneHot(tf.tensor1d(train.labels, 'int32'), numClasses));
  const testX = tf.tensor2d(test.features, [test.numExamples, test.numFeatures]);

  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 64, activation: 'relu', inputShape: [train.numFeatures] }),
      tf.layers.dense({ units: numClasses }), // logits: GALA's default (fromLogits: true)
    ],
  });
  const loss = gala.galaLoss({ numClasses });
  model.compile({ optimizer: tf.train.adam(LEARNING_RATE), loss });

  const losses = [];
  const callbacks = [new tf.CustomCallback({ onEpochEnd: async (epoch, logs) => {
    losses.push(logs.loss);
    ui.status(`Epoch ${epoch + 1}/${epochs} on ${tf.getBackend()}: loss ${logs.loss.toFixed(4)}`);
  } })];
  if (tfvis != null) {
    // tfjs-vis returns plain-object callbacks: wrap them, tfjs cannot mix them with class instances.
    callbacks.push(new tf.CustomCallback(tfvis.show.fitCallbacks(ui.lossChart, ['loss'], { callbacks: ['onEpochEnd'], height: 200 })));
  }
  // Positive / negative gradient of each class from the training batches, drawn live by tfjs-vis.
  const monitor = new gala.GradientMonitor({
    tfvis,
    container: ui.gradientCharts,
    classCounts: data.classCounts,
    classNames: gala.FASHION_MNIST_CLASS_NAMES,
  });
  callbacks.push(monitor);
  const trainStarted = performance.now();
  await model.fit(trainX, trainY, { epochs, batchSize: BATCH_SIZE, shuffle: true, callbacks });
  const trainSeconds = (performance.now() - trainStarted) / 1000;
  const stateBefore = loss.getState();

  ui.status('Saving to IndexedDB and loading it back...');
  await model.save(MODEL_URL, { includeOptimizer: true });
  const loaded = await tf.loadLayersModel(MODEL_URL);
  const stateAfter = loaded.loss.getState();
  // The same through localStorage (small models only: browsers cap it at a few MB).
  await model.save('localstorage://tfjs-gala-example', { includeOptimizer: true });
  const fromLocalStorage = await tf.loadLayersModel('localstorage://tfjs-gala-example');
  const stateAfterLocalStorage = fromLocalStorage.loss.getState();
  fromLocalStorage.loss.dispose();
  fromLocalStorage.dispose();

  const logits = model.predict(testX, { batchSize: test.numExamples });
  const reloadedLogits = loaded.predict(testX, { batchSize: test.numExamples });
  const [difference, sameClasses] = tf.tidy(() => [
    tf.max(tf.abs(tf.sub(logits, reloadedLogits))),
    tf.all(tf.equal(tf.argMax(logits, 1), tf.argMax(reloadedLogits, 1))),
  ]);
  const maxPredictionDifference = (await difference.data())[0];
  const predsEqual = (await sameClasses.data())[0] === 1;

  // The paper's re-balancing is transductive: the class mass is taken over the whole test set at once.
  const rebalanced = gala.rebalancedArgMax(logits, { tau: TAU });
  const plain = gala.longTailAccuracy(logits, test.labels, data.classCounts);
  const balanced = gala.longTailAccuracy(rebalanced, test.labels, data.classCounts);

  // Training resumes from the restored state: one more step on the reloaded model.
  const [batchX, batchY] = [trainX.slice(0, BATCH_SIZE), trainY.slice(0, BATCH_SIZE)];
  await loaded.trainOnBatch(batchX, batchY);
  const stepsAfterResume = loaded.loss.getState().steps;

  ui.accuracyTable(data, gala.FASHION_MNIST_CLASS_NAMES, plain, balanced);
  tf.dispose([trainX, trainY, testX, logits, reloadedLogits, difference, sameClasses, rebalanced, batchX, batchY]);
  model.dispose();
  loaded.dispose();

  return {
    losses,
    trainSeconds,
    stateBefore,
    stateAfter,
    stateAfterLocalStorage,
    stepsAfterResume,
    maxPredictionDifference,
    predsEqual,
    accuracy: { plain, rebalanced: balanced, tau: TAU },
    monitor: { epochs: monitor.history.length, ratio: monitor.cumulative?.ratio ?? null },
  };
}

function userInterface() {
  const byId = (id) => document.getElementById(id);
  return {
    lossChart: byId('loss-chart'),
    gradientCharts: byId('gradient-charts'),
    /** Every status line shown, oldest first (in the result when the page fails). */
    log: [],
    status(text, failed = false) {
      this.log.push(text);
      const element = byId('status');
      element.textContent = text;
      element.classList.toggle('failed', failed);
    },
    accuracyTable(data, classNames, plain, balanced) {
      const percent = (value) => (value == null ? '–' : `${(100 * value).toFixed(1)} %`);
      const rows = classNames.map((name, c) => [
        `${c} ${name}`,
        String(data.classCounts[c]),
        shotGroupOf(c, plain),
        percent(plain.perClass[c]),
        percent(balanced.perClass[c]),
      ]);
      for (const group of ['many', 'medium', 'few']) {
        rows.push([`${group}-shot (mean of classes)`, '', '', percent(plain.groups[group].accuracy), percent(balanced.groups[group].accuracy)]);
      }
      rows.push(['overall', String(data.train.numExamples), '', percent(plain.overall), percent(balanced.overall)]);
      const table = byId('accuracy');
      table.tBodies[0].replaceChildren(
        ...rows.map((cells) => {
          const tr = document.createElement('tr');
          for (const text of cells) {
            const td = document.createElement('td');
            td.textContent = text;
            tr.appendChild(td);
          }
          return tr;
        }),
      );
      table.hidden = false;
    },
  };
}

/** The shot group of class c (many > 100, few < 20 training images), from the accuracy report. */
function shotGroupOf(c, accuracy) {
  return ['many', 'medium', 'few'].find((group) => accuracy.groups[group].classes.includes(c)) ?? '';
}
