// Every tolerance the test suite uses, in one place, with the reason for its size.
// A check passes when |ours - ref| <= atol + rtol * |ref| elementwise (numpy.allclose's rule).

export interface Tol {
  atol: number;
  rtol: number;
}

export const TOL = {
  /** Exact ops (views, copies, integer results, argmax indices, comparisons). */
  exact: { atol: 0, rtol: 0 },

  /** Whole models in float32 against PyTorch: each layer reassociates sums of up to a few thousand
   *  products (conv K = C·kh·kw, attention over tokens) in a different order than oneDNN/OpenBLAS, and
   *  BatchNorm/LayerNorm amplify by 1/std; the official DINOv2 data's own float32-vs-float64 gap is
   *  ~4e-6 on tokens, so 1e-4 leaves a 25× margin while a wrong layer shows up at ≥1e-2. */
  model: { atol: 1e-4, rtol: 1e-4 },
  /** Gradients through a whole model: the backward chain doubles the number of reassociated sums. */
  modelGrad: { atol: 2e-4, rtol: 2e-4 },
  /** clipPreprocess against torchvision's _transform on the same pixels: PIL's fixed-point bicubic resize is reproduced
   *  bit for bit, so the uint8 pixels agree exactly, and ToTensor/Normalize are the same float32 steps: (v/255 − mean)/std
   *  can differ by one float32 rounding of the division (≤ 2.4e-7 on values ≤ 2.7). A pixel off by one level is off by
   *  ≥ 0.014, so 1e-6 separates the two cleanly. */
  clipPreprocess: { atol: 1e-6, rtol: 0 },

  // ---- core ops (test/core/reference.test.ts) against PyTorch float64 references, computed from inputs that
  // are exact in float32 (multiples of 1/64), so float32 and float64 runs see the same numbers.
  /** Our float32 runs. Each elementwise op is computed in double and rounded once (≤ 6e-8 relative); a
   *  backward rule chains 2–5 such roundings, and the gradient of a broadcast input sums up to 8 of those
   *  terms in float32, where cancellation makes the error relative to the terms rather than the result.
   *  Worst observed over all cases: 2e-7 (div/pow gradients of broadcast inputs); 1e-6 keeps a 5× margin,
   *  while a wrong rule (a missing factor, a wrong tie split) is off by ≥ 1e-2. */
  coreF32: { atol: 1e-6, rtol: 1e-6 },
  /** Our float64 runs. The fixture stores 15 significant digits (≤ 5e-16 relative) and our double formulas
   *  differ from torch's by a few ulps (observed < 1e-13 relative everywhere), hence rtol 1e-12. The one
   *  absolute term: erf (and so exact gelu) for |x| ≥ 3 uses a fit with 1.2e-7 relative error on
   *  erfc(|x|) ≤ 2.2e-5, i.e. ≤ 3e-12 absolute in erf and ≤ 6e-12 in gelu (observed 3e-13 at x ≈ -4.3). */
  coreF64: { atol: 1e-11, rtol: 1e-12 },

  /** Finite differences in float64 (test/helpers/gradcheck.ts; step ε = GRADCHECK_EPS below). The
   *  central difference has truncation error ε²·|f‴|/6 ≈ 2e-13·|f‴| and rounding error
   *  ≈ 1e-16·|L|/ε = 1e-10·|L|; with |L| ≤ ~100 and |f‴| ≤ ~1e3 on the checked domains that is ≤ 1e-8,
   *  so atol 1e-6 / rtol 1e-5 leave ≥ 100× margin, while a wrong rule is off by O(1) (or by the size of
   *  the term it drops). */
  gradcheck: { atol: 1e-6, rtol: 1e-5 },

  // ---- nn ops (test/ops/nn*.test.ts).
  /** Our float32 nn ops against PyTorch's float32 results (test/fixtures/ops/nn.json): both sides round
   *  every step to float32 but in a different order (our kernels accumulate rows in double and round
   *  once; torch vectorises in float32), so results differ by a few ulps. Worst observed: ~2e-7 on
   *  values of magnitude 1–5 (softmax/layerNorm/attention gradients, loss values); 1e-6 keeps ≥ 4×
   *  margin, while a wrong formula (a biased instead of unbiased running variance, a smoothing term
   *  divided by N instead of the target weights) is off by ≥ 1e-3. The large-input softmax cases
   *  (|x| up to ~1000) stay within rtol: one float32 ulp of 1000 is 6e-5, i.e. 6e-8 relative. */
  nnF32: { atol: 1e-6, rtol: 1e-6 },
  /** Float64 analytic gradients vs central differences (test/ops/nn-gradcheck.test.ts), step h = 1e-6:
   *  truncation error ~h²·(third derivative) ≈ 1e-12 and cancellation error ~1e-16·|L|/h ≈ 1e-9 for
   *  |L| ≤ 10, so 1e-6 is ~1000× above the noise and far below any real gradient error (≥ 1e-3). */
  nnGradcheckF64: { atol: 1e-6, rtol: 1e-6 },

  // ---- spatial ops (test/ops/spatial*.test.ts) against PyTorch float32 (test/fixtures/ops/spatial.json).
  /** conv2d outputs and gradients: each value sums K = C/groups·kh·kw products (up to 98 here; the
   *  weight gradient sums N·Ho·Wo of them) in im2col/gemm order instead of oneDNN's. The rounding bound
   *  is ~K·6e-8·Σ|terms| (≈ 6e-5 for K = 100, terms O(1)); the typical √K growth gives ~5e-6.
   *  Worst observed: 4e-6 absolute. A wrong offset, stride or group mapping is off by ≥ 1e-1. */
  spatialConv: { atol: 1e-5, rtol: 1e-4 },
  /** Pools (avg, adaptive, max gradients): averages of ≤ 9 values with our weights 1/count rounded once
   *  versus torch's float sum then divide, so ≤ (k² + 1)·6e-8·max|x| ≈ 1.6e-6 for |x| ≤ 3. Worst observed
   *  2.6e-7. Max-pool values and indices are copies and compared exactly (TOL.exact). */
  spatialPool: { atol: 2e-6, rtol: 1e-6 },
  /** interpolate: our per-axis weights are computed in double and rounded once; torch evaluates them in
   *  float32 (the cubic polynomial takes ~6 roundings) and sums up to 4×4 taps in another order. With
   *  Σ|w| ≤ 1.5 per axis and |x| ≤ 3 the bound is ≈ 22·6e-8·3·2.25 ≈ 9e-6. Worst observed 3.6e-6
   *  (bicubic gradients). Picking a wrong source pixel or weight rule is off by ≥ 1e-2. */
  spatialInterp: { atol: 1e-5, rtol: 1e-5 },
  /** Float64 spatial gradients vs central differences (h = 1e-6): conv / pools / interpolate are linear
   *  (conv bilinear) in each input and max-pool piecewise linear with ties ≥ 1e-2 apart, so the
   *  difference has no truncation error, only cancellation ~1e-16·|L|/h ≈ 1e-9. */
  spatialGradcheckF64: { atol: 1e-6, rtol: 1e-6 },
  /** Identities checked in float64 by two different routes (test/ops/nn-props.test.ts), e.g. the
   *  layerNorm kernel vs mean/variance ops, a one-hot probability target vs its class index: each route
   *  rounds ≤ ~100 times at ~1e-16 relative, amplified at most ~300× by 1/sqrt(var + eps) with eps ≥ 1e-5,
   *  so ≤ ~1e-12 on values of magnitude ≤ 10; 1e-10 leaves 100× margin and is still 1e7× below any
   *  formula error. */
  nnIdentityF64: { atol: 1e-10, rtol: 1e-10 },
  /** CAM maps (values in [0, 1]) on the CPU backend against the Python libraries: the maps are ratios of
   *  float32 sums (min-max normalisation divides by the map's range), so reassociation errors of ~1e-6
   *  in the activations grow by 1/range; 1e-4 is the bar and still 100× below a wrong formula. */
  cam: { atol: 1e-4, rtol: 0 },
  /** KPCA-CAM's raw projection (|values| ≤ ~0.6) against scikit-learn, which builds and centres the
   *  kernel matrix in float32 (its X is float32) while we work in float64: ~1e-7 relative error per
   *  kernel entry, amplified by 1/(eigen-gap) in the eigenvector. Worst observed 4.3e-7 (6×5 grid,
   *  Jacobi) and 2.4e-7 (32×30 grid, subspace iteration vs ARPACK); 5e-6 keeps > 10× margin, while a
   *  wrong γ (0.25 instead of 1/5), a missing √λ or another kernel is off by ≥ 0.1. */
  kpcaProjection: { atol: 5e-6, rtol: 0 },
  /** CAM metrics (test/cam/metrics.test.ts) against PyTorch/scipy: differences of float32 softmax
   *  probabilities or logits of the tiny CNN (both sides round each conv sum of ≤ 36 products in another
   *  order), perturbed inputs that are exact copies (where) or a float32 blur, float64 sums of ≤ 11
   *  curve points, and an imputation solved to 1e-10 here and directly by scipy. Worst observed 1.2e-7
   *  (a logit difference); 1e-6 keeps 8× margin, while masking one pixel more in RD@5 moves RD by 1e-2
   *  and a blur σ of 4.9 instead of 5 moves the insertion AUC by 8e-5. */
  camMetric: { atol: 1e-6, rtol: 0 },
  /** CAM maps on the wasm backend against the same Python references as the CPU (TOL.cam): only its GEMM and
   *  convolutions sum differently from the CPU backend (float32 lanes in k order per 256-block instead of double),
   *  which is the same kind of float32 rounding the PyTorch reference itself has. Worst observed 1.1e-5
   *  (KPCA-CAM on layer3, whose eigenvector amplifies activation differences by 1/eigen-gap; every other map
   *  < 2e-6), so the CPU's bar of 1e-4 keeps a 9× margin and is still 100× below a wrong formula. */
  camWasm: { atol: 1e-4, rtol: 0 },
  /** CAM maps on the WebGPU backend: float32 kernels reassociate every reduction (matmul, conv, means). */
  camWebgpu: { atol: 1e-3, rtol: 0 },
  /** The perturbation metrics on resnet18_small on the CPU against PyTorch (test/cam/perturbation-metrics.test.ts):
   *  softmax probabilities of a 20-layer model whose logits match to ~1e-5 (TOL.model), so probabilities
   *  and their differences match to a few 1e-6 (observed 1.3e-6); a wrong mask or percentile is off by ≥ 1e-2. */
  camMetricModel: { atol: 1e-5, rtol: 0 },
  /** NMF (cam/nmf.ts) against scikit-learn's coordinate descent in float32: the same start and the same
   *  update order, but sklearn's Gram products come from float32 BLAS while we sum in double and round once,
   *  so values differ by a few ulp per iteration, compounding over up to ~200 iterations; concept
   *  embeddings (values ~0.1-5) and the fc scores of them. Observed: 2.9e-6 on W/H of the plain NMF cases,
   *  4.8e-5 on DFF concepts, 2.8e-5 on their fc scores. A wrong update rule, init or stopping test is off by
   *  ≥ 1e-2 (or stops at another iteration). */
  nmf: { atol: 1e-4, rtol: 1e-4 },
  /** DFF on WebGPU and wasm: the activations themselves differ by ~1e-5 (TOL.crossBackend through the model), and
   *  NMF's ~200 iterations propagate that. Observed 5.8e-5 (wasm) and 5.2e-5 (WebGPU/SwiftShader) on the
   *  concepts; 5e-4 keeps a 8× margin. */
  nmfWebgpu: { atol: 5e-4, rtol: 5e-4 },
  /** The perturbation metrics on WebGPU and wasm (test/cam/perturbation-metrics.test.ts): softmax probabilities from
   *  logits whose float32 kernels reassociate every conv (≈1e-5 on logits of size ~10, TOL.crossBackend), so
   *  probability differences move by ≲1e-5; a wrong mask or percentile moves them by ≥1e-2. */
  camMetricWebgpu: { atol: 5e-5, rtol: 0 },
  /** Raw-logit differences on WebGPU (magnitudes up to ~20): the same reassociation, relative. */
  camMetricWebgpuRaw: { atol: 1e-4, rtol: 1e-4 },
  /** Guided-backprop input gradients on WebGPU (and wasm) against PyTorch (test/cam/guided-backprop.test.ts): a full
   *  backward pass of resnet18_small whose convolutions reassociate in another order (TOL.crossBackend per
   *  kernel, chained over ~20 layers). The gradients are O(1e-2..1) (max 1.03); observed 7e-7 (wasm) and
   *  5e-7 (WebGPU); a wrong guided rule (a missing [g > 0] mask) changes them by O(their size). */
  guidedGradWebgpu: { atol: 1e-4, rtol: 1e-3 },
  /** Front-end ops (forward and backward) on WebGPU vs the CPU backend, float32 both: the GPU sums
   *  reductions, matmuls and convolutions in another order (error ≈ √K·2⁻²⁴·Σ|terms|, K ≤ a few hundred
   *  here) and its transcendentals are 1–3 ulp; a backward pass chains 2–4 such kernels. Values are O(1),
   *  so 1e-5 absolute plus 1e-4 relative covers that with margin, while one wrong element is off by ≥ 1e-2. */
  crossBackend: { atol: 1e-5, rtol: 1e-4 },
  /** The kernel workbench's check of a variant against the CPU backend (bench/workbench/check.ts): values in
   *  [-1, 1), K up to 70 (matmul) or 5·3·3 per group (conv) and rows of 300 (softmax/layerNorm), so Σ|terms|
   *  reaches ~35 and the float32 reordering error √K·2⁻²⁴·Σ|terms| ≈ 2e-5; outputs that cancel to near 0 make
   *  that an absolute error. 1e-4 absolute + 1e-3 relative keeps a 5× margin; a wrong index or a dropped
   *  term is off by ≥ 1e-2. */
  workbench: { atol: 1e-4, rtol: 1e-3 },
} satisfies Record<string, Tol>;

/** Step ε of gradcheck's central differences (see TOL.gradcheck). */
export const GRADCHECK_EPS = 1e-6;

// ---------------------------------------------------------------------------------------------------------
// Kernel-level tolerances: the WebGPU backend's kernels against the CPU reference backend (test/webgpu/).
//
// A GPU value g passes against the CPU value c when both are NaN, both are the same infinity, or
// |g − c| ≤ atol + rtol·|c|. Per family:
//
// * exact: data movement, casts, neg/abs/sign/relu/floor/ceil/round/isnan, comparisons, where, clamp,
//   integer arithmetic, argmax/argmin, gather, max/min reductions, max-pooling: no rounding happens or the
//   rounding is identical, so the results must be bit-identical (atol = rtol = 0).
// * arithmetic with one rounding (add/sub/mul/div, square, reciprocal, sqrt): the CPU rounds a float64 result
//   to float32 once; so does the GPU: rtol = 2^-22 ≈ 2.4e-7 (2 ulp). GPUs may flush subnormal results to zero
//   (SwiftShader does), so atol = FLT_MIN ≈ 1.2e-38 everywhere except the exact family. binaryScalar rounds its
//   float64 scalar s to float32 first: for add/sub that is an absolute error up to 2^-25·|s|, so those tests
//   add atol = 2^-24·|s| (x − 0.1 at x = fround(0.1) is 0 on the GPU and 1.5e-9 on the CPU).
// * transcendental (exp, log, tanh, sigmoid, sin, cos, erf, gelu*, pow, rsqrt): our WGSL implementations are
//   1–3 ulp (Cephes float algorithms); composites (gelu = x·Φ(x) etc.) add a few roundings: rtol = 1e-6
//   (≈ 8 ulp). sin/cos lose absolute accuracy ∝ |x|·2^-24 in range reduction and near their zeros: atol 1e-6.
//   pow is exp(b·log|a|): the rounding of y = b·log|a| is amplified by |y|, so pow's relative tolerance
//   4e-7 is scaled by max(1, |y|) (see powScale).
//   The CPU forms gelu(x) = x(1 + erf(x/√2))/2 in float64, whose 1 + erf cancels for x < −5 (absolute error
//   ≈ 1e-16·|x|; the GPU computes erfc directly and is more accurate there): atol 1e-14 for the gelu family.
//   The geluGrad terms Φ(x) and x·φ(x) cancel for very negative x: atol 1e-7 there.
// * reductions, matmul, conv (float32 sums of K terms in a different order than the CPU): the error of a
//   float32 sum is bounded by ≈ K·u·Σ|terms| and is typically ≈ √K·u·Σ|terms| (u = 2^-24). We compare against
//   the scale Σ|terms| computed by the CPU on |operands|, with tolerance 4·√K·2^-24 ≈ 2.4e-7·√K of that scale
//   (plus a floor of 1e-6 relative): loose enough for any summation order, tight enough to catch one wrong term.
// * softmax / logSoftmax / layerNorm: a row reduction (sum of exp, mean, variance) followed by a transcendental:
//   rtol 1e-5, atol 1e-6 (logSoftmax values near 0 are differences of O(log n) quantities).
export const EXACT: Tol = { rtol: 0, atol: 0 };
/** Smallest normal float32: results below it may be flushed to zero by the GPU. */
export const FLT_MIN = 1.1754943508222875e-38;
export const ONE_ROUNDING: Tol = { rtol: 2 ** -22, atol: FLT_MIN };
export const TRANSCENDENTAL: Tol = { rtol: 1e-6, atol: FLT_MIN };
export const GELU: Tol = { rtol: 1e-6, atol: 1e-14 };
export const TRIG: Tol = { rtol: 1e-6, atol: 1e-6 };
/** Relative to |c|·max(1, |b·ln|a||): use with powScale. */
export const POW: Tol = { rtol: 4e-7, atol: FLT_MIN };
export const ROWWISE: Tol = { rtol: 1e-5, atol: 1e-6 };

/** Per-element scale for pow(a, b) = c: |c|·max(1, |b·ln|a||). */
export function powScale(a: ArrayLike<number>, b: ArrayLike<number>, c: ArrayLike<number>): number[] {
  return Array.from(c, (v, i) => {
    const y = Math.abs(b[i] * Math.log(Math.abs(a[i])));
    return Math.abs(v) * (Number.isFinite(y) ? Math.max(1, y) : 1);
  });
}

/** max |gelu'(x)| = Φ(√2)+√2·φ(√2) ≈ 1.1289: an error δ in gelu's input moves its output by ≤ 1.13·δ. */
export const GELU_LIPSCHITZ = 1.13;

/**
 * Fused epilogue act(Σ_k a·b + bias) of the GPU against the CPU: the pre-activation is a float32 sum of k + 1
 * terms (rtol sumTol(k + 1) of Σ|terms|, `scale`); relu is exact and 1-Lipschitz, gelu multiplies that error by
 * ≤ GELU_LIPSCHITZ and adds its own (GELU relative to the result). Returns the tolerance and the per-element
 * scale to compare with (|got − want| ≤ atol + rtol·scale).
 */
export function epilogueTol(k: number, act: 'none' | 'relu' | 'gelu', scale: ArrayLike<number>, want: ArrayLike<number>): { tol: Tol; scale: number[] } {
  const rtol = sumTol(k + 1);
  if (act !== 'gelu') return { tol: { rtol, atol: 0 }, scale: Array.from(scale) };
  return {
    tol: { rtol, atol: GELU.atol },
    scale: Array.from(scale, (s, i) => GELU_LIPSCHITZ * s + (GELU.rtol / rtol) * Math.abs(want[i])),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The wasm backend (kernels/wasm/) against the CPU reference backend uses the same tolerances as WebGPU:
// * front-end ops forward and backward (test/conformance/ops-wasm.test.ts): TOL.crossBackend. Most wasm ops
//   use the CPU's own double-precision formulas and agree bit for bit; the SIMD ones (GEMM, conv) sum in
//   float32, which is what crossBackend's √K·2⁻²⁴·Σ|terms| estimate covers.
// * GEMM / conv kernels (test/wasm/gemm-conv.test.ts): sumTol(K) of Σ|terms| and epilogueTol for fused
//   bias/activation. The wasm GEMM sums each output element in one float32 lane, in k order within each
//   KC = 256 block of K, and adds the blocks' partial sums; with
//   mul + add each term is rounded twice (product, then sum), with relaxed_madd once or twice (the engine
//   chooses). The error is ≤ (K + 1)·u·Σ|terms| in the worst case and ≈ √K·u·Σ|terms| typically; sumTol's
//   4·√K·u leaves ≥ 4× margin on the typical error for every shape the tests draw (K ≤ 530), and a wrong
//   offset, bias row or missed K block is off by ≥ 1e-2 relative (checked by mutating the kernel).
// * gelu, its derivative and softmax run as float32 approximations on wasm (kernels/wasm/math-kernel.ts), no
//   longer bit-identical to the CPU: measured gelu error ≤ 2.4e-7·max(1, |x|) absolute (up to 3e-4 relative in
//   the far negative tail, where 1 + erf cancels — as in torch's float32 gelu) and softmax ≤ 2.2e-6 relative.
//   Both sit inside TOL.crossBackend's 1e-5 absolute / 1e-4 relative (test/wasm/math-kernels.test.ts sweeps
//   gelu over [−12, 12]); a gelu in a fused GEMM epilogue stays within epilogueTol because its input error
//   (GELU_LIPSCHITZ·sumTol·Σ|terms|, ≥ 1.1e-6·|x|) exceeds the approximation's 1.2e-7·|x| ten times over.
// * BatchNorm folded into the convolution on wasm (models/fold-batchnorm.ts) changes a model's outputs by float32
//   rounding of the folded weights (s·w instead of (z − μ)·rstd·γ): the model tolerances (TOL.model,
//   TOL.modelGrad, TOL.camWasm) cover it unchanged (test/wasm/fold-batchnorm.test.ts, the wasm model fixtures).
/** Relative (to Σ|terms|) tolerance of a float32 sum of k terms in an unknown order. */
export function sumTol(k: number): number {
  return Math.max(1e-6, 4 * Math.sqrt(Math.max(k, 1)) * 2 ** -24);
}

// ---------------------------------------------------------------------------------------------------------
// Winograd F(2×2,3×3) convolutions on wasm (kernels/wasm/winograd-kernel.ts, test/wasm/winograd.test.ts):
// the transforms add and subtract up to 4 input values (Bᵀ d B), halve and add 3 weights (G g Gᵀ, computed in
// double, rounded once) and add 9 products back (Aᵀ m A), each in float32, so an output carries a few more
// roundings than a direct sum of K = 9·C terms. Measured against the CPU's double sums (largest error over a
// layer, relative to Σ|terms|; winograd.test.ts prints it): C = 64: 9.3e-8 (direct im2col + GEMM 8.1e-8),
// C = 256: 7.5e-8 (3.2e-8), C = 512: 5.0e-8 (2.1e-8) — 1.1–2.3× the direct error, 60–300× inside
// sumTol(9·C) (5.8e-6 … 1.6e-5), so the GEMM's bound stays unchanged. (F(4×4,3×3), whose transforms have
// coefficients up to 8 and so larger rounding errors, was not built, so its error is not measured.)
export function winogradTol(k: number): number {
  return sumTol(k);
}
