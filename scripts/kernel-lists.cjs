#!/usr/bin/env node
/**
 * Regenerates test/backends/kernel_lists.json: the kernels each tfjs backend package registers.
 *
 * tfjs-node's install step downloads libtensorflow, so the packages are installed into a
 * throw-away folder with --ignore-scripts; requiring tfjs-node's register_all_kernels registers
 * the `tensorflow` backend's kernels without loading the native addon.
 * Usage: node scripts/kernel-lists.cjs [version]   (default 4.22.0; needs the npm registry)
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const version = process.argv[2] || '4.22.0';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-kernels-'));
const packages = ['tfjs', 'tfjs-node', 'tfjs-backend-webgpu', 'tfjs-backend-wasm'].map((p) => `@tensorflow/${p}@${version}`);
execFileSync('npm', ['init', '-y'], { cwd: dir, stdio: 'ignore' });
execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', ...packages], { cwd: dir, stdio: 'inherit' });
const dump = `
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');
require('@tensorflow/tfjs-backend-webgpu');
require('@tensorflow/tfjs-node/dist/register_all_kernels');
const kernels = {};
for (const b of ['tensorflow', 'webgl', 'webgpu', 'wasm', 'cpu']) kernels[b] = tf.getKernelsForBackend(b).map((k) => k.kernelName).sort();
process.stdout.write(JSON.stringify({ tfjsVersion: tf.version.tfjs, kernels }));`;
const result = JSON.parse(execFileSync(process.execPath, ['-e', dump], { cwd: dir, encoding: 'utf8' }));
result.packages = {
  tensorflow: `@tensorflow/tfjs-node@${version} (and -node-gpu, same kernels)`,
  webgl: `@tensorflow/tfjs-backend-webgl@${version}`,
  webgpu: `@tensorflow/tfjs-backend-webgpu@${version}`,
  wasm: `@tensorflow/tfjs-backend-wasm@${version}`,
  cpu: `@tensorflow/tfjs-backend-cpu@${version}`,
};
const out = path.join(__dirname, '..', 'test', 'backends', 'kernel_lists.json');
fs.writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
fs.rmSync(dir, { recursive: true, force: true });
console.log(`wrote ${out}: ` + Object.entries(result.kernels).map(([b, k]) => `${b} ${k.length}`).join(', '));
