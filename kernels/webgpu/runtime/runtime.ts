// The WebGPU runtime under the backend: buffers, pipelines, command batching and readback.
//
// Kernels are synchronous for the caller: `run` records a dispatch into one long-lived command encoder (one
// open compute pass) and returns. The encoder is submitted every `batchSize` dispatches, when the uniform
// arena fills up, when a read needs the results, and at the end of the current synchronous run of work
// (a queued microtask), so the GPU never idles waiting for a batch that is not coming.
//
// Ordering rules that keep pooled buffers safe:
//   * commands recorded in one encoder run in order, so an output may reuse a buffer an earlier dispatch in
//     the same encoder read;
//   * queue.writeBuffer (uploads, uniforms) runs *before* the not-yet-submitted encoder, so a buffer that
//     commands in the open encoder still use must not be handed out for an upload. Buffers released while
//     the encoder is open therefore wait on a pending list and return to the pool only after the submit.
//
// Uniforms: every dispatch gets its own 256-byte-aligned slot in one CPU-side arena, written to the GPU with
// one writeBuffer just before the submit.
import type { GpuContext } from '../device';
import { BufferPool } from './pool';
import type { PoolStats } from './pool';
import type { UniformLayout } from './uniforms';
import type { Kernel } from './kernel';
import { dumpWgsl } from './wgsl-dump';

export type { Kernel } from './kernel';

export interface RuntimeOptions {
  /** Dispatches per submit. */
  batchSize?: number;
}

export interface RuntimeStats extends PoolStats {
  pipelines: number;
  /** Milliseconds spent creating pipelines (shader compilation, where the implementation does it eagerly). */
  compileMs: number;
  dispatches: number;
  submits: number;
}

const ARENA_BYTES = 64 * 1024;

/** FINERCAM_WEBGPU_DEBUG=1 (Node) logs every pipeline compilation with its time. */
function debug(): boolean {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return Boolean(p?.env?.FINERCAM_WEBGPU_DEBUG);
}
const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */
const STAGING_USAGE = 0x01 /* MAP_READ */ | 0x08; /* COPY_DST */
const UNIFORM_USAGE = 0x40 /* UNIFORM */ | 0x08; /* COPY_DST */
// Numeric values of GPUShaderStage.COMPUTE and GPUMapMode.READ, so no GPU* globals are needed at load time.
const SHADER_STAGE_COMPUTE = 4;
const MAP_MODE_READ = 1;

export class Runtime {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  private readonly staging: BufferPool;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly layouts = new Map<string, { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout }>();
  private readonly batchSize: number;
  private readonly maxPerDim: number;
  readonly maxBindingBytes: number;
  readonly maxBufferBytes: number;
  private readonly uniformAlign: number;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private inBatch = 0;
  private flushQueued = false;
  private pendingRelease: GPUBuffer[] = [];

  private readonly arena: GPUBuffer;
  private readonly arenaCpu = new ArrayBuffer(ARENA_BYTES);
  private readonly arenaU32 = new Uint32Array(this.arenaCpu);
  private readonly arenaI32 = new Int32Array(this.arenaCpu);
  private readonly arenaF32 = new Float32Array(this.arenaCpu);
  private arenaUsed = 0;

  private timing: { querySet: GPUQuerySet } | null = null;
  private dispatches = 0;
  private compileMs = 0;
  private submits = 0;
  private destroyed = false;

  constructor(readonly ctx: GpuContext, opts: RuntimeOptions = {}) {
    this.device = ctx.device;
    this.batchSize = opts.batchSize ?? 32;
    const lim = ctx.device.limits;
    this.maxPerDim = lim.maxComputeWorkgroupsPerDimension;
    this.maxBindingBytes = lim.maxStorageBufferBindingSize;
    this.maxBufferBytes = lim.maxBufferSize;
    this.uniformAlign = lim.minUniformBufferOffsetAlignment;
    this.pool = new BufferPool(this.device, STORAGE_USAGE, 'finercam');
    this.staging = new BufferPool(this.device, STAGING_USAGE, 'finercam-staging');
    this.arena = this.device.createBuffer({ size: ARENA_BYTES, usage: UNIFORM_USAGE, label: 'finercam-uniforms' });
  }

  // ---- state checks ----

  /** Throws if the device is gone, or if WebGPU reported errors nobody has seen yet. */
  check(op: string): void {
    if (this.destroyed) throw new Error(`WebGPU backend: ${op} after the backend was destroyed`);
    const lost = this.ctx.lost;
    if (lost) throw new Error(`WebGPU backend: ${op} on a lost device (${lost.reason}: ${lost.message})`);
  }

  private takeErrors(op: string): void {
    if (this.ctx.errors.length === 0) return;
    const errs = this.ctx.errors.splice(0);
    throw new Error(`WebGPU backend: ${op}: the device reported ${errs.length} error(s):\n${errs.join('\n')}`);
  }

  /** Throws a clear error for a buffer the device cannot bind. */
  checkBytes(bytes: number, what: string): void {
    const limit = Math.min(this.maxBindingBytes, this.maxBufferBytes);
    if (bytes > limit) {
      throw new RangeError(
        `WebGPU backend: ${what} needs a ${bytes}-byte buffer, above this device's limit of ${limit} bytes ` +
          `(maxStorageBufferBindingSize ${this.maxBindingBytes}, maxBufferSize ${this.maxBufferBytes}); ` +
          'split the tensor or use the CPU backend',
      );
    }
  }

  // ---- buffers ----

  /** A pooled storage buffer of at least `bytes` bytes (never empty). */
  alloc(bytes: number, what: string): GPUBuffer {
    this.check(what);
    this.checkBytes(bytes, what);
    return this.pool.acquire(Math.max(bytes, 4));
  }

  /** Returns a buffer to the pool once no unsubmitted work can still touch it. */
  free(buf: GPUBuffer): void {
    if (this.destroyed) return;
    if (this.encoder) this.pendingRelease.push(buf);
    else this.pool.release(buf);
  }

  write(buf: GPUBuffer, data: ArrayBufferView): void {
    this.device.queue.writeBuffer(buf, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  }

  // ---- pipelines and dispatch ----

  private layoutFor(inputs: number, outputs: number): { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout } {
    const key = `${inputs}:${outputs}`;
    let l = this.layouts.get(key);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'uniform' } }];
      for (let i = 0; i < inputs; i++) entries.push({ binding: 1 + i, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'read-only-storage' } });
      for (let i = 0; i < outputs; i++) entries.push({ binding: 1 + inputs + i, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'storage' } });
      const bgl = this.device.createBindGroupLayout({ entries, label: `finercam-bgl-${key}` });
      l = { bgl, pl: this.device.createPipelineLayout({ bindGroupLayouts: [bgl] }) };
      this.layouts.set(key, l);
    }
    return l;
  }

  pipeline(kernel: Kernel): GPUComputePipeline {
    let p = this.pipelines.get(kernel.key);
    if (!p) {
      const t0 = performance.now();
      const code = kernel.source();
      dumpWgsl(kernel.key, code);
      const module = this.device.createShaderModule({ code, label: kernel.key });
      void module.getCompilationInfo?.().then((info) => {
        const errs = info.messages.filter((m) => m.type === 'error');
        if (errs.length) {
          const text = errs.map((m) => `  line ${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
          console.error(`finercam: WGSL for kernel ${kernel.key} does not compile:\n${text}\n--- source ---\n${code}`);
        }
      });
      p = this.device.createComputePipeline({
        layout: this.layoutFor(kernel.inputs, kernel.outputs).pl,
        compute: { module, entryPoint: 'main' },
        label: kernel.key,
      });
      this.pipelines.set(kernel.key, p);
      const ms = performance.now() - t0;
      this.compileMs += ms;
      if (debug()) console.log(`finercam: compiled ${kernel.key} in ${ms.toFixed(1)} ms`);
    }
    return p;
  }

  /** Grid for `n` workgroups of a flat kernel, folded into y (and z) past the per-dimension limit. */
  foldGrid(n: number): [number, number, number] {
    const m = this.maxPerDim;
    if (n <= m) return [n, 1, 1];
    const y = Math.ceil(n / m);
    if (y <= m) return [Math.ceil(n / y), y, 1];
    const z = Math.ceil(y / m);
    return [m, Math.ceil(n / (m * z)), z];
  }

  /**
   * Records one dispatch. `workgroups` is a flat count (folded by foldGrid; the kernel recovers the linear id
   * from workgroup_id and num_workgroups and bounds-checks it) or an explicit grid.
   */
  run(kernel: Kernel, inputs: readonly GPUBuffer[], outputs: readonly GPUBuffer[], params: Readonly<Record<string, number | readonly number[]>>, workgroups: number | [number, number, number]): void {
    this.check(kernel.key);
    if (inputs.length !== kernel.inputs || outputs.length !== kernel.outputs) {
      throw new Error(`WebGPU backend: kernel ${kernel.key} takes ${kernel.inputs} inputs and ${kernel.outputs} outputs`);
    }
    for (const o of outputs) {
      if (inputs.includes(o)) throw new Error(`WebGPU backend: kernel ${kernel.key} would read and write the same buffer`);
    }
    const grid = typeof workgroups === 'number' ? this.foldGrid(workgroups) : workgroups;
    if (grid[0] === 0 || grid[1] === 0 || grid[2] === 0) return;
    if (grid.some((g) => g > this.maxPerDim)) {
      throw new RangeError(`WebGPU backend: kernel ${kernel.key} needs a ${grid.join('×')} grid, above ${this.maxPerDim} per dimension`);
    }
    const pipeline = this.pipeline(kernel);

    const slot = Math.ceil(kernel.params.byteSize / this.uniformAlign) * this.uniformAlign;
    if (this.arenaUsed + slot > ARENA_BYTES) this.flush();
    const offset = this.arenaUsed;
    kernel.params.packInto(params, this.arenaU32, this.arenaI32, this.arenaF32, offset / 4);
    this.arenaUsed += slot;

    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.arena, offset, size: kernel.params.byteSize } }];
    inputs.forEach((b, i) => entries.push({ binding: 1 + i, resource: { buffer: b } }));
    outputs.forEach((b, i) => entries.push({ binding: 1 + inputs.length + i, resource: { buffer: b } }));
    const bindGroup = this.device.createBindGroup({ layout: this.layoutFor(kernel.inputs, kernel.outputs).bgl, entries });

    const pass = this.openPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    this.dispatches++;
    this.inBatch++;
    if (this.inBatch >= this.batchSize && !this.timing) this.flush();
    else this.queueFlush();
  }

  private openEncoder(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder({ label: 'finercam' }));
  }

  private openPass(): GPUComputePassEncoder {
    if (!this.pass) {
      const enc = this.openEncoder();
      this.pass = this.timing
        ? enc.beginComputePass({ timestampWrites: { querySet: this.timing.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } })
        : enc.beginComputePass();
    }
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      if (!this.timing && !this.destroyed) this.flush();
    });
  }

  /** Submits everything recorded so far and recycles the buffers released meanwhile. */
  flush(): void {
    if (this.destroyed || !this.encoder) return;
    this.endPass();
    if (this.arenaUsed > 0) {
      this.device.queue.writeBuffer(this.arena, 0, this.arenaCpu, 0, this.arenaUsed);
      this.arenaUsed = 0;
    }
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.inBatch = 0;
    this.submits++;
    for (const b of this.pendingRelease) this.pool.release(b);
    this.pendingRelease = [];
  }

  /** Copies `bytes` bytes at `offset` of `buf` back to the host (flushes pending work first). */
  async read(buf: GPUBuffer, offset: number, bytes: number, op = 'read'): Promise<ArrayBuffer> {
    this.check(op);
    if (bytes === 0) return new ArrayBuffer(0);
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.staging.acquire(size);
    this.endPass();
    this.openEncoder().copyBufferToBuffer(buf, offset, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(MAP_MODE_READ, 0, size);
    } catch (e) {
      this.takeErrors(op);
      this.check(op);
      throw e;
    }
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    this.staging.release(staging);
    this.takeErrors(op);
    return out;
  }

  /** Waits until the GPU has finished everything submitted so far. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.takeErrors('sync');
  }

  /**
   * GPU time in milliseconds of the dispatches `fn` records, measured with timestamp queries on one compute
   * pass (null when the device has no timestamp-query). Pending work is flushed first.
   */
  async gpuTime(fn: () => void): Promise<number | null> {
    if (!this.ctx.hasTimestamps) {
      fn();
      return null;
    }
    this.flush();
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 });
    const resolve = this.device.createBuffer({ size: 16, usage: 0x200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */ });
    this.timing = { querySet };
    try {
      fn();
      this.openPass(); // an empty pass still gets timestamps
    } finally {
      this.endPass();
      this.timing = null;
    }
    this.openEncoder().resolveQuerySet(querySet, 0, 2, resolve, 0);
    const raw = await this.read(resolve, 0, 16, 'gpuTime');
    querySet.destroy();
    resolve.destroy();
    const [t0, t1] = new BigUint64Array(raw);
    return t1 > t0 ? Number(t1 - t0) / 1e6 : 0;
  }

  stats(): RuntimeStats {
    return { ...this.pool.getStats(), pipelines: this.pipelines.size, compileMs: this.compileMs, dispatches: this.dispatches, submits: this.submits };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.encoder = null;
    this.pass = null;
    this.pendingRelease = [];
    this.ctx.destroy();
  }
}
