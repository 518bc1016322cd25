// Reshape transforms turn a layer's output into N×C×h×w. Transformers give N×T×C tokens: the prefix tokens
// (class token, registers) are dropped and the rest laid row-major onto the patch grid.
import type { Tensor } from '../core/tensor';
import { fmtShape } from '../core/shape';
import { permute, reshape, slice } from '../core/ops/views';

export interface GridInfo {
  /** Grid height and width given per call (FinerCAM's H, W). */
  H?: number;
  W?: number;
  /** The input tensor's height and width, to infer the grid from the patch size. */
  inputHW?: [number, number];
}

export type ReshapeTransform = (t: Tensor, grid: GridInfo) => Tensor;

export interface VitReshapeOptions {
  /** Tokens before the patch tokens: 1 (class token) by default; 1 + registers for DINOv2 …Reg models. */
  prefixTokens?: number;
  /** Patch size, to infer the grid from the input size when H and W are not given. */
  patchSize?: number;
}

/**
 * N×T×C tokens → N×C×h×w. The grid is (H, W) from the call, else the input size divided by the patch
 * size, else a square grid if the token count is a perfect square.
 */
export function vitReshapeTransform(opts: VitReshapeOptions = {}): ReshapeTransform {
  const prefix = opts.prefixTokens ?? 1;
  if (!Number.isInteger(prefix) || prefix < 0) throw new RangeError(`vitReshapeTransform: prefixTokens must be a non-negative integer, got ${prefix}`);
  return (t: Tensor, grid: GridInfo): Tensor => {
    if (t.rank !== 3) throw new Error(`vitReshapeTransform: expected tokens [N, T, C], got ${fmtShape(t.shape)}`);
    const [N, T, C] = t.shape;
    const n = T - prefix;
    let h = grid.H;
    let w = grid.W;
    if ((h === undefined) !== (w === undefined)) throw new Error('vitReshapeTransform: give both H and W, or neither');
    if (h === undefined && opts.patchSize && grid.inputHW) {
      h = grid.inputHW[0] / opts.patchSize;
      w = grid.inputHW[1] / opts.patchSize;
    }
    if (h === undefined) {
      const s = Math.round(Math.sqrt(n));
      if (s * s !== n) {
        throw new Error(`vitReshapeTransform: ${n} patch tokens do not form a square grid; pass H and W (or patchSize)`);
      }
      h = w = s;
    }
    if (!Number.isInteger(h) || !Number.isInteger(w) || h! * w! !== n) {
      throw new Error(`vitReshapeTransform: a ${h}×${w} grid does not match ${n} patch tokens (${T} tokens minus ${prefix} prefix tokens)`);
    }
    return permute(reshape(slice(t, 1, prefix, null), [N, h!, w!, C]), [0, 3, 1, 2]);
  };
}

export interface SwinReshapeOptions {
  /** Grid height and width when the call gives none (pytorch-grad-cam's defaults: 7 × 7). */
  height?: number;
  width?: number;
}

/**
 * pytorch-grad-cam's swinT_reshape_transform: Swin has no prefix token, and its stages give N×L×C tokens
 * (timm) or N×h×w×C maps (torchvision, channels last); both become N×C×h×w. The grid is (H, W) from the
 * call (FinerCAM's H, W), else `height` × `width`.
 */
export function swinReshapeTransform(opts: SwinReshapeOptions = {}): ReshapeTransform {
  const height = opts.height ?? 7;
  const width = opts.width ?? 7;
  for (const [k, v] of [['height', height], ['width', width]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`swinReshapeTransform: ${k} must be a positive integer, got ${String(v)}`);
  }
  return (t: Tensor, grid: GridInfo): Tensor => {
    if (t.rank !== 3 && t.rank !== 4) throw new Error(`swinReshapeTransform: expected tokens [N, L, C] or channels-last maps [N, h, w, C], got ${fmtShape(t.shape)}`);
    if ((grid.H === undefined) !== (grid.W === undefined)) throw new Error('swinReshapeTransform: give both H and W, or neither');
    const h = grid.H ?? height;
    const w = grid.W ?? width;
    const N = t.shape[0];
    const C = t.shape[t.rank - 1];
    const L = t.rank === 3 ? t.shape[1] : t.shape[1] * t.shape[2];
    if (h * w !== L) throw new Error(`swinReshapeTransform: a ${h}×${w} grid does not match ${L} tokens (${fmtShape(t.shape)}); pass height and width (or H and W per call)`);
    return permute(reshape(t, [N, h, w, C]), [0, 3, 1, 2]);
  };
}
