/**
 * Save to and load from a folder in Node without `@tensorflow/tfjs-node`.
 *
 * tfjs-node provides the `file://` scheme, but it cannot be installed everywhere (its install
 * step downloads libtensorflow). No maintained pure-JS replacement exists on npm, so this is a
 * small IOHandler writing the same layout as tfjs-node: `model.json` (topology, training
 * config, user metadata and a weights manifest) beside `weights.bin`. A model saved here loads
 * with tfjs-node's `file://` and the other way round.
 *
 * Node's `fs` is imported lazily, so browser bundles never load it.
 */
import * as tf from '@tensorflow/tfjs-core';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';
/** URL scheme routed to {@link fileSystem} when tfjs-node is not installed. */
export const FILE_SCHEME = 'file://';

type FsPromises = typeof import('node:fs/promises');
type NodePath = typeof import('node:path');

async function nodeModules(): Promise<{ fs: FsPromises; path: NodePath }> {
  if (typeof process === 'undefined' || process.versions?.node == null) {
    throw new Error('tfjs-gala fileSystem(): saving to a folder needs Node.js; in the browser use indexeddb:// or localstorage://.');
  }
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  return { fs, path };
}

function stripScheme(dir: string): string {
  return dir.startsWith(FILE_SCHEME) ? dir.slice(FILE_SCHEME.length) : dir;
}

function toArrayBuffer(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data == null) return new ArrayBuffer(0);
  return Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
}

/**
 * An IOHandler for `model.save(fileSystem(dir))` and `tf.loadLayersModel(fileSystem(dir))`.
 * `dir` may start with `file://`. The folder is created when missing. As with tfjs-node's
 * `file://`, a path ending in `.json` names the model file itself (`file://./m/model.json`);
 * the weights file sits beside it.
 *
 * @param dir folder holding `model.json` and `weights.bin`, or the path of the model's JSON file.
 * @throws Error (when saving or loading) naming the path, when the folder cannot be written,
 *   `model.json` is missing or not JSON, or `weights.bin` does not match the manifest.
 */
export function fileSystem(dir: string): tf.io.IOHandler {
  if (typeof dir !== 'string' || stripScheme(dir).length === 0) {
    throw new Error(`fileSystem: dir must be a non-empty folder path; received ${JSON.stringify(dir)}.`);
  }
  const target = stripScheme(dir);
  // '<folder>/<name>.json' names the model file; anything else is the folder.
  const namesJsonFile = /\.json$/i.test(target);
  const jsonName = namesJsonFile ? target.split(/[\\/]/).pop()! : MODEL_JSON;
  const folder = namesJsonFile ? target.slice(0, target.length - jsonName.length) || '.' : target;
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const { fs, path } = await nodeModules();
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('fileSystem: saving binary (graph-model) topologies is not supported.');
      }
      const weights = toArrayBuffer(artifacts.weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig != null) modelJson.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata != null) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
      try {
        await fs.mkdir(folder, { recursive: true });
        await fs.writeFile(path.join(folder, WEIGHTS_BIN), new Uint8Array(weights));
        await fs.writeFile(path.join(folder, jsonName), JSON.stringify(modelJson));
      } catch (err) {
        throw new Error(`fileSystem: cannot write the model to '${folder}': ${(err as Error).message}`);
      }
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const { fs, path } = await nodeModules();
      const jsonPath = path.join(folder, jsonName);
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(await fs.readFile(jsonPath, 'utf8'));
      } catch (err) {
        throw new Error(`fileSystem: cannot read '${jsonPath}': ${(err as Error).message}`);
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const file = path.join(folder, p);
            try {
              const bytes = await fs.readFile(file);
              buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
            } catch (err) {
              throw new Error(`fileSystem: cannot read weights '${file}': ${(err as Error).message}`);
            }
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

let routed = false;

/**
 * Routes `file://` URLs to {@link fileSystem} in Node when no `tensorflow` backend
 * (tfjs-node / tfjs-node-gpu, which bring their own `file://` handler) is registered.
 * Called once at import.
 */
export function installFileRouter(): void {
  if (routed) return;
  routed = true;
  const isNode = typeof process !== 'undefined' && process.versions?.node != null;
  if (!isNode) return;
  const router = (url: string | string[]): tf.io.IOHandler => {
    if (typeof url !== 'string' || !url.startsWith(FILE_SCHEME)) return null as unknown as tf.io.IOHandler;
    // tfjs-node registers its own file:// router; two handlers for one URL is an error.
    if (tf.findBackendFactory('tensorflow') != null) return null as unknown as tf.io.IOHandler;
    return fileSystem(url);
  };
  tf.io.registerSaveRouter(router);
  tf.io.registerLoadRouter(router);
}

installFileRouter();
