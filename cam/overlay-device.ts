// showCamOnImage with the arithmetic on the tensor's device: on the WebGPU backend the JET lookup, the
// blend and the normalisation run as kernels and only the final bytes come back. Same float32 steps as
// the host version (image/overlay.ts), so on the CPU backend the bytes are identical.
import type { Tensor } from '../core/tensor';
import { tensor } from '../core/ops/creation';
import { add, cast, clamp, div, floor, mul } from '../core/ops/elementwise';
import { amax } from '../core/ops/reduce';
import { indexSelect } from '../core/ops/indexing';
import { reshape } from '../core/ops/views';
import { tidy } from '../core/scope';
import { noGrad } from '../core/grad-mode';
import { fmtShape } from '../core/shape';
import { jetColormap } from '../image/colormap';
import type { RgbImage } from '../image/types';

/** JET as float32 heat values f32(lut/255), 256×3. */
function jetHeatTable(): Float32Array {
  const lut = jetColormap();
  return Float32Array.from(lut, (v) => Math.fround(v / 255));
}

/** Overlays an H×W (or 1×H×W) CAM tensor on an RGB image, computing on the CAM's device. */
export async function showCamOnImageDevice(img: RgbImage, cam: Tensor, options: { imageWeight?: number } = {}): Promise<RgbImage> {
  const w = options.imageWeight ?? 0.5;
  if (typeof w !== 'number' || !(w >= 0 && w <= 1)) throw new RangeError(`showCamOnImageDevice: imageWeight must be in [0, 1], got ${w}`);
  const H = img.height;
  const W = img.width;
  if (cam.size !== H * W || cam.shape[cam.rank - 1] !== W) {
    throw new Error(`showCamOnImageDevice: cam of shape ${fmtShape(cam.shape)} does not match a ${W}×${H} image`);
  }
  const device = cam.device;
  const out = noGrad(() => tidy(() => {
    const lut = tensor(jetHeatTable(), [256, 3], { device });
    const pix = div(tensor(Float32Array.from(img.data), [H * W, 3], { device }), 255);
    // np.uint8(255 * cam) truncates; values are in [0, 1], so floor, and clamp guards rounding at the ends
    const idx = cast(clamp(floor(mul(reshape(cam, [H * W]), 255)), 0, 255), 'int32');
    const heat = indexSelect(lut, 0, idx);
    const blend = add(mul(heat, Math.fround(1 - w)), mul(pix, Math.fround(w)));
    return floor(mul(div(blend, amax(blend)), 255));
  }));
  const values = await out.data();
  out.dispose();
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) bytes[i] = values[i] > 0 ? values[i] : 0; // NaN (all-black, w = 1) → 0
  return { width: W, height: H, data: bytes };
}
