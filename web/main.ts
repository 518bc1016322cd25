// The page: wires the controls to the engine and shows the result. Every failure lands in the error box
// with a readable message and leaves the page usable (the previous result stays on screen).
import * as F from '../index';
import { renderBird, BIRD_CLASS_NAMES } from '../cli/demo/birds';
import { composeStrip } from '../cli/util/strip';
import { encodeNpy } from '../cli/util/npy';
import { chooseBackend, closeSession, explain, loadDemoModel, openSession, MODE_LABELS, MODE_NAMES, METHODS, resizedImage, type Explanation, type PageSession, type Settings, type WebModel } from './engine';
import { downloadBytes, putImage } from './draw';
import { renderTrace } from './trace-panel';
import { loadUserModel } from './user-model';

declare global {
  interface Window {
    finercamResult?: { mainCategories: number[]; references: number[][]; cams: Explanation['cams']; trace: F.CamTrace; width: number; height: number };
    /** forwardPasses: the model forward passes the page ran (a hook on every model counts them); sessions: made so far. */
    finercamStats?: { forwardPasses: number; sessions: number; explanations: number };
  }
}

const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => {
  const e = document.querySelector<T>(sel);
  if (!e) throw new Error(`the page is missing ${sel}`);
  return e;
};

const status = $('[data-testid="status"]');
const errorBox = $('[data-testid="error"]');
const alpha = $<HTMLInputElement>('#alpha');
const ranksInput = $<HTMLInputElement>('#ranks');
const targetSelect = $<HTMLSelectElement>('#target');
const methodSelect = $<HTMLSelectElement>('#method');

let device: F.DeviceName = 'cpu';
let demo: WebModel | null = null;
let model: WebModel | null = null;
let image: { img: F.RgbImage; name: string } | null = null;
let last: Explanation | null = null;
/** The current image through the current model: one forward pass, reused until either changes. */
let session: PageSession | null = null;
const stats = { forwardPasses: 0, sessions: 0, explanations: 0 };
window.finercamStats = stats;
const counted = new WeakSet<F.Module>();

/** Counts the model's forward passes (the page's evidence that a changed setting ran none). */
function countForwards(m: WebModel): WebModel {
  if (!counted.has(m.model)) {
    counted.add(m.model);
    m.model.registerForwardHook(() => {
      stats.forwardPasses++;
    });
  }
  return m;
}

function showError(e: unknown): void {
  errorBox.textContent = e instanceof Error ? e.message : String(e);
  errorBox.hidden = false;
  status.textContent = 'error';
}

function clearError(): void {
  errorBox.hidden = true;
  errorBox.textContent = '';
}

function settings(): Settings {
  const ranks = ranksInput.value.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (ranks.length === 0 || ranks.some((r) => !Number.isInteger(r) || r < 1)) throw new Error(`reference ranks must be integers ≥ 1 separated by commas, got '${ranksInput.value}'`);
  return { alpha: Number(alpha.value), ranks, targetIdx: targetSelect.value === '' ? null : Number(targetSelect.value), method: methodSelect.value };
}

function name(k: number): string {
  return model?.classNames[k] ?? `class ${k}`;
}

function show(r: Explanation): void {
  const m = model!;
  const base = r.seen ?? resizedImage(image!.img, r.width, r.height);
  putImage($<HTMLCanvasElement>('#original'), base);
  $('#original-caption').textContent = `${image!.name} — ${name(r.mainCategories[1])}, p = ${r.probs[r.mainCategories[1]].toFixed(3)}`;
  MODE_NAMES.forEach((mode, i) => {
    const map = r.cams[mode];
    putImage($<HTMLCanvasElement>(`canvas[data-mode="${mode}"]`), F.showCamOnImage(base, Float32Array.from(map.data)));
    const refs = r.references[i].map(name).join(', ') || '—';
    $(`[data-testid="caption-${mode}"]`).textContent = `${MODE_LABELS[mode]}: ${name(r.mainCategories[i])}${mode === 'baseline' ? '' : ` vs ${refs}`}`;
  });
  const order = Array.from(r.probs.keys()).sort((a, b) => r.probs[b] - r.probs[a]).slice(0, 5);
  $('[data-testid="top5"]').replaceChildren(...order.map((k) => Object.assign(document.createElement('li'), { textContent: `${name(k)} — ${(100 * r.probs[k]).toFixed(1)}%` })));
  const row = (k: string, v: string): HTMLTableRowElement => {
    const tr = document.createElement('tr');
    tr.append(Object.assign(document.createElement('td'), { textContent: k }), Object.assign(document.createElement('td'), { textContent: v }));
    return tr;
  };
  $('[data-testid="timings"]').replaceChildren(
    ...(r.forwardRan ? [] : [row('forward pass', 'none: reused this image\'s (only a setting changed)')]),
    ...Object.entries(r.timings).map(([k, v]) => row(k, `${v.toFixed(1)} ms`)),
    row('forward passes so far', String(stats.forwardPasses)),
  );
  const set = Number($<HTMLSelectElement>('#trace-mode').value);
  renderTrace($('#trace'), { trace: r.trace, set, modeLabel: MODE_LABELS[MODE_NAMES[set]], input: base, classNames: m.classNames });
  window.finercamResult = { mainCategories: r.mainCategories, references: r.references, cams: r.cams, trace: r.trace, width: r.width, height: r.height };
}

// A replaced visitor's model frees its weights (on WebGPU nothing else would), but only between runs: a
// run in flight may still be using it.
const retired: WebModel[] = [];
function retire(m: WebModel | null): void {
  if (m && m !== demo && !retired.includes(m)) retired.push(m);
}

// One computation at a time; a request made meanwhile runs once the current one ends (with the latest settings).
let running = false;
let again = false;
async function run(): Promise<void> {
  if (running) {
    again = true;
    return;
  }
  running = true;
  try {
    do {
      again = false;
      if (session && (session.model !== model || session.img !== image?.img)) {
        closeSession(session); // it holds the old model's graph: freed before the model is
        session = null;
      }
      for (const m of retired.splice(0)) if (m !== model) m.model.dispose();
      if (!model || !image) return;
      status.textContent = 'working';
      try {
        const t0 = performance.now();
        const s = settings();
        const fresh = !session;
        if (!session) {
          session = await openSession(model, image.img, device);
          stats.sessions++;
        }
        const r = await explain(session, s, fresh);
        stats.explanations++;
        const t1 = performance.now();
        last = r;
        show(r);
        r.timings.draw = performance.now() - t1;
        r.timings.total = performance.now() - t0 + (r.timings.decode ?? 0);
        show(r);
        clearError();
        status.textContent = 'done';
      } catch (e) {
        showError(e);
      }
    } while (again);
  } finally {
    running = false;
  }
}

function setImage(img: F.RgbImage, imgName: string, decodeMs = 0): void {
  image = { img, name: imgName };
  void run().then(() => {
    if (last && decodeMs) last.timings.decode = decodeMs;
  });
}

async function openImage(file: File): Promise<void> {
  const t0 = performance.now();
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const img = F.decodeImage(bytes, { maxPixels: 40e6 });
    setImage(img, file.name, performance.now() - t0);
  } catch (e) {
    showError(new Error(`Cannot read '${file.name}' as an image: ${(e as Error).message}`));
  }
}

function showBird(): void {
  const seed = Number($<HTMLInputElement>('#seed').value);
  if (!Number.isInteger(seed) || seed < 0) return showError(new Error('the seed must be a whole number ≥ 0'));
  const c = Number($<HTMLSelectElement>('#bird').value);
  setImage(renderBird(c, seed, { size: 96 }).image, `${BIRD_CLASS_NAMES[c]} #${seed}`);
}

function fillTargets(m: WebModel): void {
  targetSelect.replaceChildren(Object.assign(document.createElement('option'), { value: '', textContent: 'top class' }));
  m.classNames.forEach((n, k) => targetSelect.append(Object.assign(document.createElement('option'), { value: String(k), textContent: `${k}: ${n}` })));
  $('#model-name').textContent = m.describe;
}

/** The visitor's last model files and the CLIP text they were built with: a CLIP is rebuilt from them when
 *  its prompts or template change (only then: a change event also fires when the box merely loses focus). */
let modelFiles: File[] = [];
let builtClipText = '';
const clipText = () => ({ prompts: $<HTMLTextAreaElement>('#prompts').value, template: $<HTMLInputElement>('#template').value });

async function useModelFiles(files: File[]): Promise<void> {
  status.textContent = 'working';
  try {
    const text = clipText();
    const loaded = countForwards(await loadUserModel(files, device, text));
    modelFiles = files;
    builtClipText = JSON.stringify(text);
    retire(model);
    model = loaded;
    fillTargets(model);
    await run();
  } catch (e) {
    showError(e);
  }
}

async function main(): Promise<void> {
  for (const k of Object.keys(METHODS)) methodSelect.append(Object.assign(document.createElement('option'), { value: k, textContent: k }));
  BIRD_CLASS_NAMES.forEach((n, k) => $('#bird').append(Object.assign(document.createElement('option'), { value: String(k), textContent: n })));
  const backend = await chooseBackend(new URLSearchParams(location.search).get('backend'));
  device = backend.device;
  $('[data-testid="backend"]').textContent = backend.label;
  const res = await fetch('demo-resnet.safetensors');
  if (!res.ok) throw new Error(`cannot load the demo weights (HTTP ${res.status})`);
  demo = countForwards(await loadDemoModel(new Uint8Array(await res.arrayBuffer()), device));
  model = demo;
  fillTargets(demo);

  alpha.addEventListener('input', () => {
    $('#alpha-value').textContent = alpha.value;
    void run();
  });
  for (const e of [ranksInput, targetSelect, methodSelect]) e.addEventListener('change', () => void run());
  for (const id of ['#prompts', '#template']) {
    $(id).addEventListener('change', () => {
      if (model?.clipSize && modelFiles.length > 0 && JSON.stringify(clipText()) !== builtClipText) void useModelFiles(modelFiles);
    });
  }
  $('#trace-mode').addEventListener('change', () => last && show(last));
  $('#bird').addEventListener('change', showBird);
  $('#seed').addEventListener('change', showBird);
  $<HTMLInputElement>('#image-file').addEventListener('change', (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (f) void openImage(f);
  });
  $<HTMLInputElement>('#model-files').addEventListener('change', (ev) => void useModelFiles(Array.from((ev.target as HTMLInputElement).files ?? [])));
  $('#demo-model').addEventListener('click', () => {
    retire(model);
    model = demo;
    fillTargets(demo!);
    void run();
  });
  const drop = $('#drop');
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    const files = Array.from(ev.dataTransfer?.files ?? []);
    if (files.length === 1 && /\.(jpe?g|png|bmp)$/i.test(files[0].name)) void openImage(files[0]);
    else if (files.length > 0) void useModelFiles(files);
  });
  $('#download-strip').addEventListener('click', () => {
    if (!last || !image) return showError(new Error('nothing to download yet'));
    const base = last.seen ?? resizedImage(image.img, last.width, last.height);
    const tiles = [base, ...MODE_NAMES.map((m) => F.showCamOnImage(base, Float32Array.from(last!.cams[m].data)))];
    const labels = ['Original', ...MODE_NAMES.map((m, i) => `${MODE_LABELS[m]}\n${name(last!.mainCategories[i])}`)];
    downloadBytes(F.encodePng(composeStrip(tiles, labels, { tileHeight: Math.max(96, last.height), legend: true })), 'finercam-strip.png', 'image/png');
  });
  $('#download-npy').addEventListener('click', () => {
    if (!last) return showError(new Error('nothing to download yet'));
    const m = last.cams['finer-default'];
    downloadBytes(encodeNpy({ dtype: 'float32', shape: [m.height, m.width], data: Float32Array.from(m.data) }), 'finer-default.npy', 'application/octet-stream');
  });
  showBird();
}

main().catch(showError);
