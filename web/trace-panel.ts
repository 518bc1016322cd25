// The teaching trace as a numbered walk: for one mode, each step of the captured computation with the
// one-line formula that produced it and small pictures of its values. Everything shown is read from the
// trace (cam/trace.ts); nothing here computes a CAM.
import type * as F from '../index';
import { jetImage, putImage, signedImage } from './draw';

const TITLES: Record<F.TraceStepKey, string> = {
  activations: 'Activations A of the hooked layer',
  gradients: 'Gradients ∂target/∂A',
  channelWeights: 'Channel weights w',
  weightedSum: 'Weighted sum, before ReLU',
  relu: 'After ReLU',
  normalised: 'Normalised to [0, 1]',
  resized: 'Resized to the image',
  combined: 'Layers combined',
  cam: 'The CAM',
  bias: 'Bias b of the layer',
  contribution: 'Contribution |b ⊙ ∂target/∂z| (or |x ⊙ ∂target/∂x|)',
  partMap: 'Part map: channels normalised, resized, summed',
};

/** How many channels get their own pictures. */
const TOP = 4;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function picture(img: F.RgbImage, caption: string): HTMLElement {
  const fig = el('figure');
  const c = el('canvas');
  putImage(c, img);
  fig.append(c, el('figcaption', caption));
  return fig;
}

/** Channel c of an N×C×h×w step (sample 0). */
function channel(s: F.TraceStep, c: number): Float32Array {
  const [, , h, w] = s.shape;
  return s.data.subarray(c * h * w, (c + 1) * h * w);
}

/** The channels with the largest |w| (or, without weights, the largest mean activation). */
function topChannels(acts: F.TraceStep, weights: F.TraceStep | undefined): number[] {
  const C = acts.shape[1];
  const score = Array.from({ length: C }, (_, c) => (weights ? Math.abs(weights.data[c]) : channel(acts, c).reduce((a, b) => a + b, 0)));
  return Array.from({ length: C }, (_, c) => c).sort((a, b) => score[b] - score[a] || a - b).slice(0, TOP);
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(3);
}

export interface TraceView {
  trace: F.CamTrace;
  /** Which target set (mode) to walk through. */
  set: number;
  modeLabel: string;
  input: F.RgbImage;
  classNames: string[];
}

export function renderTrace(root: HTMLElement, v: TraceView): void {
  root.replaceChildren();
  const { trace, set } = v;
  const steps = trace.steps.filter((s) => s.set === null || s.set === set);
  const acts = steps.find((s) => s.key === 'activations');
  const weights = steps.find((s) => s.key === 'channelWeights' && s.layer === 0);
  const top = acts && acts.shape.length === 4 ? topChannels(acts, weights) : [];
  const ol = el('ol', undefined, 'trace');
  let n = 0;
  const item = (key: string, title: string, formula: string, shape: number[] | null): HTMLLIElement => {
    const li = el('li');
    li.dataset.testid = 'trace-step';
    li.dataset.key = key;
    li.append(el('h4', `${++n}. ${title}`), el('code', formula, 'formula'));
    if (shape) li.append(el('span', ` shape ${shape.join('×')}`, 'shape'));
    ol.append(li);
    return li;
  };

  item('input', 'The input image', `x = (RGB/255 − mean) / std, ${v.input.width}×${v.input.height}`, null).append(picture(v.input, 'x'));

  const target = trace.targets[set]?.[0];
  for (const s of steps) {
    if (s.key === 'gradients' && target) {
      // the target comes between the forward pass (activations) and its gradient
      const li = item('target', `The scalar target (${v.modeLabel})`, target.formula, null);
      const facts = el('ul', undefined, 'numbers');
      const name = (k: number) => `${v.classNames[k] ?? 'class'} (${k})`;
      if (target.main !== undefined) facts.append(el('li', `main: ${name(target.main)}, logit ${fmt(target.mainLogit!)}`));
      (target.references ?? []).forEach((r, i) => {
        const p = target.softmaxWeights?.[i];
        facts.append(el('li', `reference ${i + 1}: ${name(r)}, logit ${fmt(target.referenceLogits![i])}${p !== undefined ? `, softmax weight ${fmt(p)}` : ''}`));
      });
      if (target.alpha !== undefined) facts.append(el('li', `α = ${target.alpha}`));
      facts.append(el('li', `value = ${fmt(target.value)}`));
      li.append(facts);
    }
    const li = item(s.key, TITLES[s.key] + (trace.layers.length > 1 && s.layer !== null ? ` (layer ${trace.layers[s.layer]})` : ''), s.formula, s.shape);
    const pics = el('div', undefined, 'pics');
    if ((s.key === 'activations' || s.key === 'gradients') && s.shape.length === 4) {
      const [, , h, w] = s.shape;
      for (const c of top) pics.append(picture(signedImage(channel(s, c), w, h), `channel ${c}`));
    } else if (s.key === 'channelWeights') {
      const list = el('ul', undefined, 'numbers');
      for (const c of top) list.append(el('li', `w[${c}] = ${fmt(s.data[c])}`));
      li.append(list);
    } else if (s.shape.length === 3) {
      const [, h, w] = s.shape;
      const data = s.data.subarray(0, h * w);
      const inUnit = s.key === 'normalised' || s.key === 'resized' || s.key === 'cam';
      pics.append(picture(inUnit ? jetImage(data, w, h) : signedImage(data, w, h), `${w}×${h}`));
    }
    li.append(pics);
  }
  root.append(ol);
}
