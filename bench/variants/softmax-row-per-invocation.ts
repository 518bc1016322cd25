// Example kernel variant: softmax with one invocation per row (no workgroup cooperation at all).
//
//   finercam bench-kernel bench/variants/softmax-row-per-invocation.ts
//
// Three passes over its row by one invocation: the max, Σ exp(x − max), then the outputs. It is the simplest
// correct softmax and a baseline for the built-in one (kernels/webgpu/rows.ts: one workgroup per row, the
// reductions combined through subgroups or workgroup memory). Contiguous rows only: other views go to the
// built-in kernel. Where it wins: many short rows; where it loses: few long rows (one invocation does it all).
import type { KernelVariant, VariantKit } from '../../kernels/webgpu/index';

export default function variant(kit: VariantKit): KernelVariant<'softmax'> {
  const WG = 64;
  const params = new kit.UniformLayout([['rows', 'u32'], ['cols', 'u32'], ['off', 'i32']]);
  const make = (log: boolean) =>
    kit.defineKernel(`example_softmax_row|${log}`, () => ({
      params,
      inputs: 1,
      outputs: 1,
      workgroupSize: [WG],
      source: () => `${params.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = ((wid.z * nwg.y + wid.y) * nwg.x + wid.x) * ${WG}u + li;
  if (row >= u.rows) { return; }
  let base = u32(u.off) + row * u.cols;
  var m = -3.4028234663852886e38;
  for (var c = 0u; c < u.cols; c++) { m = max(m, X[base + c]); }
  // a NaN in the row makes s NaN (whatever max() did with it), so the whole row is NaN, as torch's
  var s = 0.0;
  for (var c = 0u; c < u.cols; c++) { s += exp(X[base + c] - m); }
  for (var c = 0u; c < u.cols; c++) {
    ${log ? 'Y[row * u.cols + c] = X[base + c] - m - log(s);' : 'Y[row * u.cols + c] = exp(X[base + c] - m) / s;'}
  }
}`,
    }));

  return {
    op: 'softmax',
    name: 'row-per-invocation',
    description: 'one invocation per row, three passes',
    run(host, x, log) {
      const cols = x.shape.length ? x.shape[x.shape.length - 1] : 1;
      const rows = cols === 0 ? 0 : x.shape.reduce((a, b) => a * b, 1) / cols;
      const contiguous = x.strides.every((s, i) => x.shape[i] === 1 || s === x.shape.slice(i + 1).reduce((a, b) => a * b, 1));
      if (!contiguous) return kit.builtin.softmax(host, x, log);
      const out = host.alloc('float32', rows * cols, 'softmax');
      if (rows * cols === 0) return out;
      host.rt.run(make(log), [kit.bufferOf(x, 'softmax')], [out.buffer], { rows, cols, off: x.offset }, kit.workgroupsFor(rows, WG));
      return out;
    },
  };
}
