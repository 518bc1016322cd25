// A WebAssembly module assembled in memory: the type, import (memory), function, export and code sections,
// written at run time from the kernels' TypeScript. Every kernel module imports the one linear memory that
// holds the tensors (env.memory), shared when the engine allows, so all modules and threads see the same
// bytes.
import { name, uleb, vec } from './leb128';
import type { Features, ValType } from './function';
import { FunctionBuilder, VALTYPE_CODE, WasmBuildError } from './function';

export interface MemoryImport {
  /** Initial and maximum size in 64 KiB pages. */
  initialPages: number;
  maximumPages: number;
  shared: boolean;
}

interface FuncEntry {
  builder: FunctionBuilder;
  typeIndex: number;
  exported: boolean;
}

export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly typeBytes: number[][] = [];
  private readonly funcs: FuncEntry[] = [];
  private readonly funcIndex = new Map<string, number>();

  constructor(readonly memory: MemoryImport | null, readonly features: Features = { relaxedSimd: false }) {}

  /**
   * Adds a function: `params` in order (an object's keys keep their order), `body` writes its instructions.
   * Functions may call those declared before them.
   */
  func(
    fname: string,
    params: Record<string, ValType>,
    results: ValType[],
    body: (f: FunctionBuilder) => void,
    exported = true,
  ): this {
    if (this.funcIndex.has(fname)) throw new WasmBuildError(`function ${fname} declared twice`);
    const entries = Object.entries(params);
    const sig = [0x60, ...vec(entries.map(([, t]) => [VALTYPE_CODE[t]])), ...vec(results.map((t) => [VALTYPE_CODE[t]]))];
    const key = sig.join(',');
    let typeIndex = this.types.indexOf(key);
    if (typeIndex < 0) {
      typeIndex = this.types.length;
      this.types.push(key);
      this.typeBytes.push(sig);
    }
    const b = new FunctionBuilder(fname, entries, results, this.features, (callee) => {
      const i = this.funcIndex.get(callee);
      if (i === undefined) throw new WasmBuildError(`${fname}: call to ${callee}, which is not declared before it`);
      return i;
    });
    body(b);
    this.funcIndex.set(fname, this.funcs.length);
    this.funcs.push({ builder: b, typeIndex, exported });
    return this;
  }

  bytes(): Uint8Array<ArrayBuffer> {
    const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]; // "\0asm", version 1
    const section = (id: number, content: number[]) => out.push(id, ...uleb(content.length), ...content);
    section(1, vec(this.typeBytes));
    if (this.memory) {
      const { initialPages, maximumPages, shared } = this.memory;
      const limits = shared ? [0x03, ...uleb(initialPages), ...uleb(maximumPages)] : [0x01, ...uleb(initialPages), ...uleb(maximumPages)];
      section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]]));
    }
    section(3, vec(this.funcs.map((f) => uleb(f.typeIndex))));
    const exports = this.funcs.flatMap((f, i) => (f.exported ? [[...name(f.builder.name), 0x00, ...uleb(i)]] : []));
    section(7, vec(exports));
    section(10, vec(this.funcs.map((f) => f.builder.encode())));
    return new Uint8Array(out);
  }

  /** Compiles and instantiates against `memory` (required when the module imports one). */
  instantiate(memory?: WebAssembly.Memory): WebAssembly.Exports {
    const mod = new WebAssembly.Module(this.bytes());
    const inst = new WebAssembly.Instance(mod, memory ? { env: { memory } } : {});
    return inst.exports;
  }
}
