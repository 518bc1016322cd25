// First principal component of per-sample activation matrices, on the CPU in float64. EigenCAM,
// EigenGradCAM and eigenSmooth project each sample's centred hw×C matrix M onto its first right singular
// vector: proj = M·v₁ = σ₁·u₁. We get u₁ from the smaller Gram matrix (M·Mᵀ when hw ≤ C, else Mᵀ·M and
// then M·v₁) with a symmetric Jacobi eigensolver or, for large matrices, subspace iteration.
//
// Sign rule (LAPACK's sign is arbitrary, which flips maps after ReLU in pytorch-grad-cam): the projection
// is negated if needed so that its entry of largest absolute value is positive.

/** Symmetric eigen-decomposition by cyclic Jacobi rotations; returns the eigenvector of the largest eigenvalue. */
function topEigenJacobi(A: Float64Array, n: number): { value: number; vector: Float64Array } {
  const a = Float64Array.from(A);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p], vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < n; i++) if (a[i * n + i] > a[best * n + best]) best = i;
  const vector = new Float64Array(n);
  for (let k = 0; k < n; k++) vector[k] = V[k * n + best];
  return { value: a[best * n + best], vector };
}

/** Top eigenvector by block power (subspace) iteration with Rayleigh–Ritz; for n too large for Jacobi. */
function topEigenSubspace(A: Float64Array, n: number): { value: number; vector: Float64Array } {
  const k = Math.min(8, n);
  let Q = new Float64Array(n * k);
  for (let i = 0; i < n * k; i++) Q[i] = Math.sin(i * 12.9898 + 78.233) * 43758.5453 % 1;
  const orth = (X: Float64Array): void => {
    for (let j = 0; j < k; j++) {
      for (let p = 0; p < j; p++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += X[i * k + j] * X[i * k + p];
        for (let i = 0; i < n; i++) X[i * k + j] -= d * X[i * k + p];
      }
      let nrm = 0;
      for (let i = 0; i < n; i++) nrm += X[i * k + j] ** 2;
      nrm = Math.sqrt(nrm) || 1;
      for (let i = 0; i < n; i++) X[i * k + j] /= nrm;
    }
  };
  orth(Q);
  let prev = NaN;
  let result = { value: 0, vector: new Float64Array(n) };
  for (let it = 0; it < 500; it++) {
    const Z = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      for (let l = 0; l < n; l++) {
        const ail = A[i * n + l];
        if (ail === 0) continue;
        for (let j = 0; j < k; j++) Z[i * k + j] += ail * Q[l * k + j];
      }
    }
    // Rayleigh–Ritz on span(Q): small k×k problem QᵀAQ
    const H = new Float64Array(k * k);
    for (let p = 0; p < k; p++) for (let q = 0; q < k; q++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += Q[i * k + p] * Z[i * k + q];
      H[p * k + q] = d;
    }
    const top = topEigenJacobi(H, k);
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) v[i] += Q[i * k + j] * top.vector[j];
    result = { value: top.value, vector: v };
    if (Math.abs(top.value - prev) <= 1e-13 * Math.abs(top.value)) break;
    prev = top.value;
    orth(Z);
    Q = Z;
  }
  return result;
}

/**
 * Eigenpair of the largest eigenvalue of a symmetric n×n matrix (row-major). Exact (Jacobi) up to
 * n = 160; above, subspace iteration on 8 vectors, which returns the largest eigenvalue among the 8 of
 * largest magnitude (the largest one unless 8 negative eigenvalues are larger in magnitude).
 */
export function topEigen(A: Float64Array, n: number): { value: number; vector: Float64Array } {
  return n <= 160 ? topEigenJacobi(A, n) : topEigenSubspace(A, n);
}

/**
 * Projection of one sample's activations (C×hw, channel-major as in N×C×h×w) on the first principal
 * component of the centred hw×C matrix; returns hw values (float64).
 */
export function firstComponentProjection(x: ArrayLike<number>, C: number, hw: number): Float64Array {
  const M = new Float64Array(hw * C); // row = position, column = channel
  for (let c = 0; c < C; c++) {
    let mean = 0;
    for (let p = 0; p < hw; p++) {
      const v = x[c * hw + p];
      mean += Number.isNaN(v) ? 0 : v;
    }
    mean /= hw;
    for (let p = 0; p < hw; p++) {
      const v = x[c * hw + p];
      M[p * C + c] = (Number.isNaN(v) ? 0 : v) - mean;
    }
  }
  const proj = new Float64Array(hw);
  if (hw <= C) {
    const G = new Float64Array(hw * hw);
    for (let i = 0; i < hw; i++) for (let j = i; j < hw; j++) {
      let d = 0;
      for (let c = 0; c < C; c++) d += M[i * C + c] * M[j * C + c];
      G[i * hw + j] = G[j * hw + i] = d;
    }
    const { value, vector } = topEigen(G, hw);
    const sigma = Math.sqrt(Math.max(value, 0));
    for (let i = 0; i < hw; i++) proj[i] = sigma * vector[i];
  } else {
    const G = new Float64Array(C * C);
    for (let p = 0; p < hw; p++) {
      for (let i = 0; i < C; i++) {
        const mi = M[p * C + i];
        if (mi === 0) continue;
        for (let j = i; j < C; j++) G[i * C + j] += mi * M[p * C + j];
      }
    }
    for (let i = 0; i < C; i++) for (let j = 0; j < i; j++) G[i * C + j] = G[j * C + i];
    const { vector } = topEigen(G, C);
    for (let p = 0; p < hw; p++) {
      let d = 0;
      for (let c = 0; c < C; c++) d += M[p * C + c] * vector[c];
      proj[p] = d;
    }
  }
  let big = 0;
  for (let i = 1; i < hw; i++) if (Math.abs(proj[i]) > Math.abs(proj[big])) big = i;
  if (proj[big] < 0) for (let i = 0; i < hw; i++) proj[i] = -proj[i];
  return proj;
}
