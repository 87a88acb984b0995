/**
 * The example shared by index.html (tfjs and tfjs-gala from <script> tags) and module.html
 * (ES modules through an import map): train a small classifier (an MLP or a CNN) on long-tailed
 * Fashion-MNIST with the GALA loss, watch the gradient imbalance live, save to IndexedDB, reload,
 * and compare per-class accuracy with and without prediction re-balancing.
 *
 * Reading the data files is the example's own business (a few lines below: IDX decoding, class
 * names); everything GALA comes from tfjs-gala (longTailSubset, galaLoss, GradientMonitor,
 * rebalancedArgMax, longTailAccuracy, enableWasmTraining).
 *
 * Everything it measures is also put on `window.galaResult` for the browser test.
 */

const DATA_URL = new URL('../../cli/data/fashion-mnist-lt/', import.meta.url);
const MODEL_URL = 'indexeddb://tfjs-gala-example';
const BACKENDS = ['webgl', 'wasm', 'webgpu', 'cpu'];
const MODELS = ['mlp', 'cnn'];

/** Fashion-MNIST's labels 0..9 (https://github.com/zalandoresearch/fashion-mnist#labels). */
const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const NUM_CLASSES = CLASS_NAMES.length;
const IMAGE_SIZE = 28;

/**
 * The long-tailed training split, drawn with tfjs-gala's `longTailSubset` from the committed
 * subset: n_c = floor(nMax * IF^(-c/9)), i.e. 200 119 71 43 25 15 9 5 3 2 images for classes
 * 0..9 (492 in all). The test split is balanced (200 per class).
 */
const LONG_TAIL = { numClasses: NUM_CLASSES, imbalanceFactor: 100, nMax: 200, seed: 0 };
const DEFAULT_EPOCHS = 10;
const BATCH_SIZE = 64;
const PREDICT_BATCH_SIZE = 256;
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
  const modelName = params.get('model') ?? 'mlp';
  const epochs = Number(params.get('epochs') ?? DEFAULT_EPOCHS);
  const started = performance.now();
  const ui = userInterface();
  ui.showChoices({ backend: requestedBackend, model: modelName, epochs: params.get('epochs') ?? String(DEFAULT_EPOCHS) });
  try {
    if (!BACKENDS.includes(requestedBackend)) {
      throw new Error(`?backend= must be one of ${BACKENDS.join(', ')}; received '${requestedBackend}'.`);
    }
    if (!MODELS.includes(modelName)) throw new Error(`?model= must be one of ${MODELS.join(', ')}; received '${modelName}'.`);
    if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`?epochs= must be an integer >= 1; received '${params.get('epochs')}'.`);

    ui.status(`Starting the ${requestedBackend} backend...`);
    const backendInfo = await startBackend(tf, gala, requestedBackend, loadBackend);
    ui.status(`Loading long-tailed Fashion-MNIST on ${tf.getBackend()}...`);
    const data = await loadData(tf, gala);
    const result = await trainAndEvaluate({ tf, gala, tfvis, ui, data, epochs, modelName });
    const summary = {
      ok: true,
      variant,
      backend: tf.getBackend(),
      ...backendInfo,
      tfjsVersion: tf.version.tfjs,
      model: modelName,
      classCounts: data.classCounts,
      classNames: CLASS_NAMES,
      numTrain: data.numTrain,
      numTest: data.numTest,
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

/**
 * Sets the backend and checks that tfjs did not fall back to another one (setBackend only
 * resolves false). On wasm, tfjs-gala's enableWasmTraining() adds the gradient kernels
 * tfjs-backend-wasm 4.22 lacks (a conv layer's filter gradient among them): without it the CNN
 * fails on wasm with "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'".
 */
async function startBackend(tf, gala, name, loadBackend) {
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
    gala.enableWasmTraining();
    info.wasmTraining = gala.isWasmTrainingEnabled();
    info.wasmSimd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    info.wasmThreads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  }
  return info;
}

/**
 * Decodes an IDX file (the format of MNIST and Fashion-MNIST: http://yann.lecun.com/exdb/mnist/):
 * two zero bytes, the element type (0x08: unsigned byte, the only one these files use), the
 * number of dimensions, each dimension as a big-endian uint32, then the data.
 */
function decodeIdx(bytes, name) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== 0 || bytes[2] !== 0x08) throw new Error(`${name} is not an IDX file of unsigned bytes.`);
  const rank = bytes[3];
  const shape = Array.from({ length: rank }, (_, d) => view.getUint32(4 + 4 * d));
  const offset = 4 + 4 * rank;
  const size = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== offset + size) throw new Error(`${name}: shape [${shape}] needs ${offset + size} bytes, the file has ${bytes.length}.`);
  return { shape, data: bytes.subarray(offset) };
}

/** Fetches one of the committed gzipped IDX files and decompresses it with the browser's DecompressionStream. */
async function readIdx(name) {
  const response = await fetch(new URL(name, DATA_URL));
  if (!response.ok) throw new Error(`GET ${response.url}: ${response.status} ${response.statusText}`);
  const inflated = response.body.pipeThrough(new DecompressionStream('gzip'));
  return decodeIdx(new Uint8Array(await new Response(inflated).arrayBuffer()), name);
}

/**
 * The data as tensors: images `[N, 28, 28, 1]`, grey levels scaled to [0, 1]; the long-tailed
 * training subset drawn with tfjs-gala's `longTailSubset`; test labels kept on the host for
 * `longTailAccuracy`.
 */
async function loadData(tf, gala) {
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].map(readIdx),
  );
  const images = ({ shape, data }) => tf.tensor4d(Float32Array.from(data, (v) => v / 255), [shape[0], IMAGE_SIZE, IMAGE_SIZE, 1]);
  const allTrainX = images(trainImages);
  const allTrainLabels = tf.tensor1d(Int32Array.from(trainLabels.data), 'int32');
  // Keeps floor(nMax * IF^(-c/9)) images of class c, chosen at random from `seed`, in file order.
  const subset = gala.longTailSubset(allTrainX, allTrainLabels, LONG_TAIL);
  tf.dispose([allTrainX, allTrainLabels]);
  const trainY = tf.tidy(() => tf.oneHot(subset.labels, NUM_CLASSES));
  subset.labels.dispose();
  return {
    trainX: subset.xs,
    trainY,
    testX: images(testImages),
    testLabels: Int32Array.from(testLabels.data),
    classCounts: subset.classCounts,
    numTrain: subset.xs.shape[0],
    numTest: testImages.shape[0],
  };
}

/**
 * The two models of the page, both ending in logits (GALA's default, fromLogits: true):
 * - `mlp`: 784-64-10 on the flattened image;
 * - `cnn`: conv 16 3x3, max-pool 2, conv 32 3x3, max-pool 2, dense 128, dense 10 (the CLI's
 *   `--model cnn`). Its filter gradients need enableWasmTraining() on wasm (see startBackend).
 */
function buildModel(tf, name) {
  if (name === 'cnn') {
    return tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1], filters: 16, kernelSize: 3, padding: 'valid', activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'valid', activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 128, activation: 'relu' }),
        tf.layers.dense({ units: NUM_CLASSES }),
      ],
    });
  }
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 64, activation: 'relu', inputShape: [IMAGE_SIZE * IMAGE_SIZE] }),
      tf.layers.dense({ units: NUM_CLASSES }),
    ],
  });
}

/** Images `[N, 28, 28, 1]` as the model takes them: unchanged for the CNN, flattened for the MLP. */
function modelInput(tf, images, modelName) {
  return modelName === 'cnn' ? images.clone() : images.reshape([images.shape[0], IMAGE_SIZE * IMAGE_SIZE]);
}

async function trainAndEvaluate({ tf, gala, tfvis, ui, data, epochs, modelName }) {
  const trainX = modelInput(tf, data.trainX, modelName);
  const testX = modelInput(tf, data.testX, modelName);
  const trainY = data.trainY;
  tf.dispose([data.trainX, data.testX]);

  const model = buildModel(tf, modelName);
  const loss = gala.galaLoss({ numClasses: NUM_CLASSES });
  model.compile({ optimizer: tf.train.adam(LEARNING_RATE), loss });

  const losses = [];
  const batchLosses = [];
  const callbacks = [new tf.CustomCallback({
    onBatchEnd: async (batch, logs) => {
      batchLosses.push(logs.loss);
    },
    onEpochEnd: async (epoch, logs) => {
      losses.push(logs.loss);
      ui.status(`Epoch ${epoch + 1}/${epochs} (${modelName.toUpperCase()}) on ${tf.getBackend()}: loss ${logs.loss.toFixed(4)}`);
    },
  })];
  if (tfvis != null) {
    // tfjs-vis returns plain-object callbacks: wrap them, tfjs cannot mix them with class instances.
    callbacks.push(new tf.CustomCallback(tfvis.show.fitCallbacks(ui.lossChart, ['loss'], { callbacks: ['onEpochEnd'], height: 200 })));
  }
  // Positive / negative gradient of each class from the training batches, drawn live by tfjs-vis.
  const monitor = new gala.GradientMonitor({
    tfvis,
    container: ui.gradientCharts,
    classCounts: data.classCounts,
    classNames: CLASS_NAMES,
  });
  callbacks.push(monitor);
  const trainStarted = performance.now();
  await model.fit(trainX, trainY, { epochs, batchSize: BATCH_SIZE, shuffle: true, callbacks });
  const trainSeconds = (performance.now() - trainStarted) / 1000;
  const stateBefore = await loss.getStateAsync();

  ui.status('Saving to IndexedDB and loading it back...');
  await model.save(MODEL_URL, { includeOptimizer: true });
  const loaded = await tf.loadLayersModel(MODEL_URL);
  const stateAfter = await loaded.loss.getStateAsync();
  // The same through localStorage (small models only: browsers cap it at a few MB).
  await model.save('localstorage://tfjs-gala-example', { includeOptimizer: true });
  const fromLocalStorage = await tf.loadLayersModel('localstorage://tfjs-gala-example');
  const stateAfterLocalStorage = await fromLocalStorage.loss.getStateAsync();
  fromLocalStorage.loss.dispose();
  fromLocalStorage.dispose();

  // predict() concatenates its batches: the logits of the whole test set either way.
  const logits = model.predict(testX, { batchSize: PREDICT_BATCH_SIZE });
  const reloadedLogits = loaded.predict(testX, { batchSize: PREDICT_BATCH_SIZE });
  const [difference, sameClasses] = tf.tidy(() => [
    tf.max(tf.abs(tf.sub(logits, reloadedLogits))),
    tf.all(tf.equal(tf.argMax(logits, 1), tf.argMax(reloadedLogits, 1))),
  ]);
  const maxPredictionDifference = (await difference.data())[0];
  const predsEqual = (await sameClasses.data())[0] === 1;

  // The paper's re-balancing is transductive: the class mass is taken over the whole test set at once.
  const rebalanced = gala.rebalancedArgMax(logits, { tau: TAU });
  const plain = gala.longTailAccuracy(logits, data.testLabels, data.classCounts);
  const balanced = gala.longTailAccuracy(rebalanced, data.testLabels, data.classCounts);

  // Training resumes from the restored state: one more step on the reloaded model.
  const [batchX, batchY] = [trainX.slice(0, BATCH_SIZE), trainY.slice(0, BATCH_SIZE)];
  await loaded.trainOnBatch(batchX, batchY);
  const stepsAfterResume = (await loaded.loss.getStateAsync()).steps;

  ui.accuracyTable(data, CLASS_NAMES, plain, balanced);
  tf.dispose([trainX, trainY, testX, logits, reloadedLogits, difference, sameClasses, rebalanced, batchX, batchY]);
  loss.dispose();
  loaded.loss.dispose();
  model.dispose();
  loaded.dispose();

  return {
    losses,
    batchLosses,
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
    /** Shows the page's settings in the form that changes them (absent on pages without one). */
    showChoices(choices) {
      const form = byId('choices');
      if (form == null) return;
      for (const [name, value] of Object.entries(choices)) {
        const field = form.elements.namedItem(name);
        if (field != null && [...(field.options ?? [{ value }])].some((option) => option.value === value)) field.value = value;
      }
    },
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
      rows.push(['overall', String(data.numTrain), '', percent(plain.overall), percent(balanced.overall)]);
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
