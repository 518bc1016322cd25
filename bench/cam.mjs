// The CAM layer end to end: Finer-CAM (Grad-CAM base) of ResNet-50 and of DINOv2 ViT-S/14 at 1×3×224×224 on
// each of our backends, beside TensorFlow.js (ResNet-50 only: cpu, wasm, webgpu) and PyTorch, in one run.
//
//   node build.mjs && node bench/cam.mjs [options]
//
//   --models resnet50,vits14      which models (default: both)
//   --backends cpu,wasm,webgpu    which of our backends (default: all three; webgpu only if an adapter exists,
//                                 wasm only with WebAssembly SIMD; wasm uses --reps/--warmup as cpu does)
//   --skip-webgpu                 skip our WebGPU backend and tfjs-webgpu (both run on SwiftShader here)
//   --webgpu-models LIST          models for our WebGPU backend (default: resnet50,vits14)
//   --peers LIST                  tfjs-cpu,tfjs-wasm,tfjs-webgpu,torch (default: all four; 'none')
//   --reps N --warmup N           our CPU backend (default 3 and 1)
//   --webgpu-reps N --webgpu-warmup N   our WebGPU backend (default 1 and 1: the warm-up compiles pipelines)
//   --tfjs-cpu-reps N, --tfjs-wasm-reps N, --tfjs-webgpu-reps N, --torch-reps N   (defaults 1, 3, 1, 5;
//                                 one warm-up pass each, two for torch)
//   --quiet-wait S                before each timed pass wait up to S s for other processes to use < 0.3
//                                 core (default 3; 0 disables)
//   --threads N                   threads for our CPU backend (F.setCpuThreads) and for PyTorch
//                                 (default: ours as the library defaults — all cores — and torch 2)
//   --json FILE                   also write every measurement as JSON
//
// One timed pass (median over passes, performance.now()):
//   ours   FinerCAM({ model, targetLayers, baseMethod: GradCAM }).forward({ inputTensor }) — forward with a
//          hook on the target layer, logits read back, classes ranked by similarity to the top class, the
//          "weighted" Finer target with reference ranks 1-3 and α 1, pruned F.grad to the target layer,
//          w = mean over the grid, relu(Σ_c w_c A_c), per-image min-max at the grid size — then
//          await cam.data(). ResNet-50: layer4 (7×7). ViT: LinearProbe(dinov2Vits14(), 1000) (the Finer-CAM
//          seed's linear probe on the mean patch token), target backbone.blocks.-1.norm1 with
//          vitReshapeTransform (16×16).
//   tfjs   the same Grad-CAM on a ResNet-50 written in tfjs ops (NHWC; conv2d, batchNorm kept as an op,
//          relu, maxPool, add, mean, matMul; random weights, torchvision's init), split at layer4 into
//          f1(x) → A and f2(A) → logits as the tfjs-examples cam does: A = f1(x), logits = f2(A) read back,
//          the same ranking and Finer target, tf.grad(a => target(f2(a)))(A), the same map, await data().
//          Each tfjs backend runs in its own child process (tfjs-wasm: SIMD, one thread — tfjs has no
//          threaded wasm in Node; tfjs-webgpu: the same SwiftShader adapter as ours).
//   torch  bench/torch_models.py --mode cam: Grad-CAM "variant C" (frozen parameters, the hook returns
//          out.detach().requires_grad_(), so backward only touches the head), the same target and map.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, fmt, openLibrary, passes, placeModel, printTable, readOptions, runChild, runMain, runTorch, timeReps } from './common.mjs';

const SELF = fileURLToPath(import.meta.url);
const ALL_MODELS = ['resnet50', 'vits14'];
const ALL_PEERS = ['tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu', 'torch'];

// ------------------------------------------------------------------ options
function parseArgs(argv) {
  const o = {
    models: ALL_MODELS, backends: ['cpu', 'wasm', 'webgpu'], webgpuModels: ALL_MODELS, peers: ALL_PEERS,
    reps: 3, warmup: 1, webgpuReps: 1, webgpuWarmup: 1,
    peerReps: { 'tfjs-cpu': 1, 'tfjs-wasm': 3, 'tfjs-webgpu': 1, torch: 5 },
    quietWait: 3, json: null, threads: null, child: null,
  };
  const list = (v, all) => (v === 'all' ? all : v === 'none' ? [] : v.split(',').filter(Boolean));
  readOptions(argv, SELF, (a, next, int) => {
    const peerRep = /^--(tfjs-cpu|tfjs-wasm|tfjs-webgpu|torch)-reps$/.exec(a);
    if (a === '--models') o.models = list(next(), ALL_MODELS);
    else if (a === '--backends') o.backends = next().split(',').filter(Boolean);
    else if (a === '--skip-webgpu') {
      o.backends = o.backends.filter((b) => b !== 'webgpu');
      o.peers = o.peers.filter((p) => p !== 'tfjs-webgpu');
    } else if (a === '--webgpu-models') o.webgpuModels = list(next(), ALL_MODELS);
    else if (a === '--peers') o.peers = list(next(), ALL_PEERS);
    else if (a === '--reps') o.reps = int();
    else if (a === '--warmup') o.warmup = int();
    else if (a === '--webgpu-reps') o.webgpuReps = int();
    else if (a === '--webgpu-warmup') o.webgpuWarmup = int();
    else if (peerRep) o.peerReps[peerRep[1]] = int();
    else if (a === '--quiet-wait') o.quietWait = Number(next());
    else if (a === '--json') o.json = next();
    else if (a === '--threads') o.threads = int();
    else if (a === '--child') o.child = next(); // internal: run one tfjs peer and print JSON
    else return false;
    return true;
  });
  for (const m of [...o.models, ...o.webgpuModels]) if (!ALL_MODELS.includes(m)) throw new Error(`unknown model ${m}; expected ${ALL_MODELS.join(', ')}`);
  for (const p of o.peers) if (!ALL_PEERS.includes(p)) throw new Error(`unknown peer ${p}; expected ${ALL_PEERS.join(', ')}`);
  for (const b of o.backends) if (b !== 'cpu' && b !== 'wasm' && b !== 'webgpu') throw new Error(`unknown backend ${b}; expected cpu, wasm or webgpu`);
  if (o.reps < 1 || o.webgpuReps < 1 || Object.values(o.peerReps).some((r) => r < 1)) throw new Error('reps must be at least 1');
  return o;
}

/** Classes ordered by |z_c − z_top| ascending, ties by index (as F.rankBySimilarity). */
function finerClasses(z) {
  let top = 0;
  for (let c = 1; c < z.length; c++) if (z[c] > z[top]) top = c;
  const order = Array.from(z, (_, c) => c);
  order.sort((a, b) => Math.abs(z[a] - z[top]) - Math.abs(z[b] - z[top]) || a - b);
  return { main: order[0], refs: order.slice(1, 4) };
}

// ------------------------------------------------------------------ tfjs peer (child process)
async function tfjsPeer(which, reps, warmup, quietWait) {
  let gpuRoot = null;
  if (which === 'tfjs-webgpu') {
    process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    gpuRoot = create([]); // keep the Dawn instance reachable for the device's lifetime
    globalThis.__benchGpu = gpuRoot;
    globalThis.navigator = { gpu: gpuRoot }; // before importing tfjs-backend-webgpu: it registers only if navigator.gpu exists
  }
  const tf = await import('@tensorflow/tfjs'); // also fills tfjs-core's gradient registry (the Node bundle has none)
  if (which === 'tfjs-wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + '/');
  }
  if (which === 'tfjs-webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  const name = which.slice('tfjs-'.length);
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
  const info = { backend: tf.getBackend(), version: tf.version.tfjs };
  if (which === 'tfjs-wasm') {
    info.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    info.threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  }

  // ResNet-50 (torchvision v1.5: stride on the 3×3), NHWC, filters HWIO. Kaiming-normal (fan_out) convs,
  // BatchNorm mean 0 / var 1 / γ 1 / β 0 as a separate op, fc uniform(±1/√2048).
  let seed = 1;
  const convW = (k, cin, cout) => tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (k * k * cout)), 'float32', seed++);
  const bnP = (c) => ({ mean: tf.zeros([c]), variance: tf.ones([c]), offset: tf.zeros([c]), scale: tf.ones([c]) });
  const net = { conv1: convW(7, 3, 64), bn1: bnP(64), layers: [] };
  let inP = 64;
  for (const [planes, blocks, stride] of [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]]) {
    const layer = [];
    for (let b = 0; b < blocks; b++) {
      const s = b === 0 ? stride : 1;
      const blk = {
        stride: s,
        c1: convW(1, inP, planes), b1: bnP(planes),
        c2: convW(3, planes, planes), b2: bnP(planes),
        c3: convW(1, planes, planes * 4), b3: bnP(planes * 4),
        down: b === 0 ? { c: convW(1, inP, planes * 4), b: bnP(planes * 4) } : null,
      };
      inP = planes * 4;
      layer.push(blk);
    }
    net.layers.push(layer);
  }
  net.fcW = tf.randomUniform([2048, 1000], -1 / Math.sqrt(2048), 1 / Math.sqrt(2048), 'float32', seed++);
  net.fcB = tf.randomUniform([1000], -1 / Math.sqrt(2048), 1 / Math.sqrt(2048), 'float32', seed++);

  const pad = (p) => (p === 0 ? 'valid' : [[0, 0], [p, p], [p, p], [0, 0]]);
  const conv = (x, w, stride, p) => tf.conv2d(x, w, stride, pad(p));
  const bn = (x, p) => tf.batchNorm(x, p.mean, p.variance, p.offset, p.scale, 1e-5);
  const f1 = (x) => {
    let h = tf.relu(bn(conv(x, net.conv1, 2, 3), net.bn1));
    h = tf.maxPool(tf.pad(h, [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 2, 'valid'); // after ReLU, zero padding = −∞ padding
    for (const layer of net.layers) {
      for (const blk of layer) {
        let y = tf.relu(bn(conv(h, blk.c1, 1, 0), blk.b1));
        y = tf.relu(bn(conv(y, blk.c2, blk.stride, 1), blk.b2));
        y = bn(conv(y, blk.c3, 1, 0), blk.b3);
        const idt = blk.down ? bn(conv(h, blk.down.c, blk.stride, 0), blk.down.b) : h;
        h = tf.relu(tf.add(y, idt));
      }
    }
    return h; // 1×7×7×2048
  };
  const f2 = (a) => tf.add(tf.matMul(tf.mean(a, [1, 2]), net.fcW), net.fcB); // 1×1000
  // Finer "weighted" target: Σ_r p_r (z_main − z_r) / (Σ_r p_r + 1e-9), p = softmax(z). Selection by a
  // one-hot matMul (tfjs-wasm has no UnsortedSegmentSum, which gather's gradient needs).
  const target = (z, sel) => {
    const zs = tf.matMul(z, sel); // [1, 4]: z_main, z_r1..3
    const ps = tf.matMul(tf.softmax(z), sel);
    const zn = tf.slice(zs, [0, 0], [1, 1]);
    const zr = tf.slice(zs, [0, 1], [1, 3]);
    const pr = tf.slice(ps, [0, 1], [1, 3]);
    return tf.div(tf.sum(tf.mul(pr, tf.sub(zn, zr))), tf.add(tf.sum(pr), 1e-9));
  };
  const x = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 7);
  const check = {};
  const pass = async () => {
    const A = tf.tidy(() => f1(x));
    const logits = tf.tidy(() => f2(A));
    const z = await logits.data();
    logits.dispose();
    const { main, refs } = finerClasses(z);
    check.logitsFinite = z.every(Number.isFinite);
    check.main = main;
    const selData = new Float32Array(1000 * 4);
    [main, ...refs].forEach((c, j) => (selData[c * 4 + j] = 1));
    const cam = tf.tidy(() => {
      const sel = tf.tensor2d(selData, [1000, 4]);
      const G = tf.grad((a) => target(f2(a), sel))(A);
      const w = tf.mean(G, [1, 2], true);
      let c = tf.relu(tf.sum(tf.mul(A, w), -1)); // 1×7×7
      c = tf.sub(c, tf.min(c, [1, 2], true));
      return tf.div(c, tf.add(tf.max(c, [1, 2], true), 1e-7));
    });
    const m = await cam.data();
    check.camShape = cam.shape.slice(1).join('×');
    check.camRange = [Math.min(...m), Math.max(...m)].map((v) => +v.toFixed(3));
    cam.dispose();
    A.dispose();
  };
  const r = await timeReps(pass, reps, warmup, quietWait);
  return { available: true, info: { ...info, check }, results: { resnet50: r } };
}

// ------------------------------------------------------------------ ours
function buildCam(F, name) {
  F.manualSeed(0);
  if (name === 'resnet50') {
    const model = F.resnet50();
    return { model, cam: () => new F.FinerCAM({ model, targetLayers: ['layer4'], baseMethod: F.GradCAM }) };
  }
  const model = new F.LinearProbe(F.dinov2Vits14(), 1000);
  return {
    model,
    cam: () => new F.FinerCAM({ model, targetLayers: ['backbone.blocks.-1.norm1'], baseMethod: F.GradCAM, reshapeTransform: F.vitReshapeTransform({ prefixTokens: 1, patchSize: 14 }) }),
  };
}

async function benchOurs(F, name, backend, o) {
  const { reps, warmup } = passes(o, backend);
  const { model, cam: makeCam } = buildCam(F, name);
  const x = await placeModel(F, model, backend);
  const cam = makeCam();
  let grid = null;
  try {
    const r = await timeReps(async () => {
      const res = await cam.forward({ inputTensor: x });
      await res.cam.data();
      grid = res.cam.shape.slice(1).join('×');
      res.cam.dispose();
      res.outputs.dispose();
    }, reps, warmup, o.quietWait);
    return { ...r, grid };
  } finally {
    cam.dispose();
  }
}

// ------------------------------------------------------------------ main
const star = (r) => (r && r.noisy ? '*' : '');

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.child) {
    let res;
    try {
      res = await tfjsPeer(o.child, o.peerReps[o.child], 1, o.quietWait);
    } catch (e) {
      res = { available: false, reason: String(e.message ?? e).split('\n')[0].slice(0, 300) };
    }
    process.stdout.write(JSON.stringify(res) + '\n');
    return;
  }
  const { F, from, backends, skipped } = await openLibrary(o, 'our webgpu');

  // Peers first, each alone in its own process, then ours.
  const peers = {};
  const childOptions = { cwd: ROOT, reasonChars: 300 };
  for (const p of o.peers) {
    if (p === 'torch') {
      console.log(`PyTorch: ${o.models.join(',')} (2 warm-up + ${o.peerReps.torch} timed passes each)…`);
      peers.torch = await runTorch('cam', o.models, { reps: o.peerReps.torch, warmup: 2, quietWait: o.quietWait, threads: o.threads }, childOptions);
    } else {
      if (!o.models.includes('resnet50')) continue;
      console.log(`${p}: resnet50 (1 warm-up + ${o.peerReps[p]} timed passes)…`);
      peers[p] = await runChild(process.execPath, [SELF, '--child', p, `--${p}-reps`, String(o.peerReps[p]), '--quiet-wait', String(o.quietWait)], childOptions);
    }
    const r = peers[p];
    if (!r.available) console.log(`  ${p} not available: ${r.reason}`);
    else console.log(`  ${Object.entries(r.results).map(([m, v]) => `${m} ${fmt((v.cam ?? v).ms)} ms`).join(', ')}`);
  }

  const ours = [];
  for (const name of o.models) {
    for (const backend of backends) {
      if (backend === 'webgpu' && !o.webgpuModels.includes(name)) {
        skipped.push(`${name} on our webgpu (not in --webgpu-models)`);
        continue;
      }
      process.stdout.write(`ours: Finer-CAM ${name} on ${backend}… `);
      try {
        const r = await benchOurs(F, name, backend, o);
        console.log(`${fmt(r.ms)} ms (map ${r.grid})`);
        ours.push({ model: name, backend, ...r });
      } catch (e) {
        const msg = String(e.message ?? e).split('\n')[0];
        console.log(`failed: ${msg}`);
        ours.push({ model: name, backend, error: msg });
      }
    }
  }

  // Tables: ours, then ours / each peer.
  const peerMs = (p, m) => {
    const r = peers[p];
    if (!r || !r.available) return null;
    const v = r.results?.[m];
    return v ? (v.cam ?? v).ms : null;
  };
  const peerCell = (p, m) => {
    const r = peers[p];
    if (!r) return 'skipped';
    if (!r.available) return 'not available';
    const ms = peerMs(p, m);
    const v = r.results?.[m];
    return ms == null ? '—' : `${fmt(ms)}${star(v?.cam ?? v)}`;
  };
  const head = ['model', 'ours on', 'ours ms', ...o.peers.map((p) => `${p} ms`), ...o.peers.map((p) => `ours/${p}`), 'reps', 'other'];
  const table = [head];
  for (const r of ours) {
    if (r.error) {
      table.push([r.model, r.backend, `error: ${r.error.slice(0, 50)}`, ...o.peers.map((p) => peerCell(p, r.model)), ...o.peers.map(() => '—'), '—', '—']);
      continue;
    }
    table.push([r.model, r.backend, `${fmt(r.ms)}${star(r)}`, ...o.peers.map((p) => peerCell(p, r.model)),
      ...o.peers.map((p) => {
        const ms = peerMs(p, r.model);
        return ms == null ? '—' : `${(r.ms / ms).toFixed(2)}×`;
      }), `${r.reps}(+${r.warmup})`, r.other ?? '?']);
  }
  console.log('');
  printTable(table);
  console.log('ours/peer > 1: we are slower. tfjs peers: ResNet-50 only. other = cores used by other processes during our timed passes');
  console.log('(median); * = a pass in that median ran while others used > 0.25 core.');
  for (const r of ours.filter((x) => !x.error)) console.log(`ours ${r.model} ${r.backend}: ${r.times.join('/')} ms`);
  for (const p of o.peers) {
    const r = peers[p];
    if (!r) continue;
    if (!r.available) console.log(`${p}: not available (${r.reason})`);
    else {
      const detail = Object.entries(r.results).map(([m, v]) => {
        const x = v.cam ?? v;
        return `${m} ${x.times?.join('/')} ms, other ${x.other}${x.noisy ? ' (noisy)' : ''}`;
      }).join('; ');
      console.log(`${p}: ${r.torch ? `torch ${r.torch}, ${r.threads} threads; ` : ''}${r.info ? `${JSON.stringify(r.info)}; ` : ''}${detail}`);
    }
  }
  if (skipped.length) console.log(`skipped: ${skipped.join('; ')}`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), options: o, library: from, ours, peers, skipped }, null, 2));
}

await runMain(main);
