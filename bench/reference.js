#!/usr/bin/env node
// Reference timing for `safelynx bench engine`: runs the original JavaScript
// pipeline (@vladmandic/face-api 1.7.15 on the TensorFlow.js wasm backend)
// over the given images and prints ONE JSON line on stdout. Everything else
// (progress, tfjs notices) goes to stderr.
//
// usage: node bench/reference.js --models DIR --detector ssd|tiny
//            [--input-size 416] [--repeat N] [--warmup W] IMAGE...
//
// Timed per run: faceapi.detectAllFaces(t, opts).withFaceLandmarks()
// .withFaceDescriptors() on an already decoded int32 [h, w, 3] tensor.
// Image decoding (jpeg-js / pngjs, alpha dropped) is not timed.
'use strict';

// Keep stdout for the single result line: route console chatter to stderr
// before tfjs is loaded.
for (const k of ['log', 'info', 'debug']) console[k] = console.error;

const fs = require('fs');
const path = require('path');

const USAGE = 'usage: node bench/reference.js --models DIR --detector ssd|tiny ' +
  '[--input-size 416] [--repeat N] [--warmup W] IMAGE...';

function fail(msg, code = 2) {
  process.stderr.write(`reference.js: ${msg}\n`);
  if (code === 2) process.stderr.write(`${USAGE}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const a = { models: null, detector: null, inputSize: 416, repeat: 10, warmup: 2, images: [] };
  const intArg = (name, v, min) => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < min) fail(`${name} needs an integer >= ${min}, got '${v}'`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let key = arg, val;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) { key = arg.slice(0, eq); val = arg.slice(eq + 1); }
    const next = () => (val !== undefined ? val : argv[++i]);
    switch (key) {
      case '--models': a.models = next(); break;
      case '--detector': a.detector = next(); break;
      case '--input-size': a.inputSize = intArg('--input-size', next(), 32); break;
      case '--repeat': a.repeat = intArg('--repeat', next(), 1); break;
      case '--warmup': a.warmup = intArg('--warmup', next(), 0); break;
      case '-h': case '--help': process.stdout.write(`${USAGE}\n`); process.exit(0); break;
      case '--': a.images.push(...argv.slice(i + 1)); i = argv.length; break;
      default:
        if (arg.startsWith('-')) fail(`unknown option ${arg}`);
        a.images.push(arg);
    }
  }
  if (!a.models) fail('--models DIR is required');
  if (a.detector !== 'ssd' && a.detector !== 'tiny') fail(`--detector must be ssd or tiny, got '${a.detector}'`);
  if (a.detector === 'tiny' && a.inputSize % 32 !== 0) fail(`--input-size must be a multiple of 32, got ${a.inputSize}`);
  if (a.images.length === 0) fail('no images given');
  return a;
}

const args = parseArgs(process.argv.slice(2));

const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
// The node-wasm build of face-api uses the @tensorflow/tfjs and
// @tensorflow/tfjs-backend-wasm packages installed next to it (same instances).
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const jpeg = require('jpeg-js');
const { PNG } = require('pngjs');

function decode(file) {
  const buf = fs.readFileSync(file);
  let img;
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47) {
    const p = PNG.sync.read(buf);
    img = { width: p.width, height: p.height, data: p.data };
  } else if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) {
    img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 2048 });
  } else {
    throw new Error(`${file}: not a JPEG or PNG file`);
  }
  // Both decoders give RGBA; drop alpha.
  const n = img.width * img.height;
  const rgb = new Int32Array(n * 3);
  for (let i = 0, j = 0; i < n; i++) {
    rgb[j++] = img.data[4 * i];
    rgb[j++] = img.data[4 * i + 1];
    rgb[j++] = img.data[4 * i + 2];
  }
  return tf.tensor3d(rgb, [img.height, img.width, 3], 'int32');
}

function median(sorted) {
  const n = sorted.length, m = n >> 1;
  return n % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}
// Nearest-rank percentile.
function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const round3 = (x) => Math.round(x * 1000) / 1000;

async function main() {
  const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), path.sep);
  wasm.setWasmPaths(wasmDir); // local files only, no network
  if (!(await tf.setBackend('wasm'))) throw new Error('could not initialise the tfjs wasm backend');
  await tf.ready();
  const backend = tf.getBackend();
  if (backend !== 'wasm' || faceapi.tf.getBackend() !== 'wasm') {
    throw new Error(`expected the wasm backend, got tf=${backend} face-api=${faceapi.tf.getBackend()}`);
  }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const threads = wasm.getThreadsCount();
  const binary = simd && mt ? 'tfjs-backend-wasm-threaded-simd.wasm' : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  process.stderr.write(`reference.js: tfjs ${tf.version.tfjs}, backend ${backend} (${binary}, simd=${simd}, multithread=${mt}, threads=${threads})\n`);

  if (args.detector === 'ssd') await faceapi.nets.ssdMobilenetv1.loadFromDisk(args.models);
  else await faceapi.nets.tinyFaceDetector.loadFromDisk(args.models);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(args.models);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(args.models);
  const baseTensors = tf.memory().numTensors;
  const options = args.detector === 'ssd'
    ? new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 })
    : new faceapi.TinyFaceDetectorOptions({ inputSize: args.inputSize, scoreThreshold: 0.5 });
  const run = (t) => faceapi.detectAllFaces(t, options).withFaceLandmarks().withFaceDescriptors();

  const images = [];
  let total = 0;
  for (const file of args.images) {
    const t = decode(file);
    let faces = -1;
    for (let i = 0; i < args.warmup; i++) faces = (await run(t)).length;
    const times = [];
    for (let i = 0; i < args.repeat; i++) {
      const t0 = process.hrtime.bigint();
      const r = await run(t);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (faces >= 0 && r.length !== faces) process.stderr.write(`reference.js: ${file}: face count changed ${faces} -> ${r.length}\n`);
      faces = r.length;
    }
    t.dispose();
    times.sort((x, y) => x - y);
    const rec = { image: file, faces, median_ms: round3(median(times)), p95_ms: round3(percentile(times, 95)) };
    process.stderr.write(`reference.js: ${file} [${t.shape[1]}x${t.shape[0]}]: ${faces} faces, median ${rec.median_ms} ms, p95 ${rec.p95_ms} ms (${args.repeat} runs)\n`);
    images.push(rec);
    total += median(times);
  }
  const leaked = tf.memory().numTensors - baseTensors;
  if (leaked !== 0) process.stderr.write(`reference.js: warning: ${leaked} tensors leaked\n`);

  const result = {
    implementation: 'face-api 1.7.15 tfjs-wasm',
    detector: args.detector,
    ...(args.detector === 'tiny' ? { input_size: args.inputSize } : {}),
    images,
    total_median_ms: round3(total),
    threads,
    backend,
    wasm_binary: binary,
    repeat: args.repeat,
    warmup: args.warmup,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e), 1));
