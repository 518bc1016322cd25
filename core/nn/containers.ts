// Sequential and ModuleList: children named '0', '1', ... as in PyTorch, so `layer4.1.conv2` resolves.
import { Tensor } from '../tensor';
import { Module } from './module';

export class Sequential extends Module {
  private readonly list: Module[] = [];
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => this.list.push(this.addModule(String(i), m)));
  }
  get length(): number {
    return this.list.length;
  }
  at(i: number): Module {
    const m = this.list[i < 0 ? this.list.length + i : i];
    if (!m) throw new RangeError(`Sequential: index ${i} is out of range for ${this.list.length} modules`);
    return m;
  }
  forward(x: Tensor): Tensor {
    for (const m of this.list) x = m.forward(x);
    return x;
  }
}

/** A list of modules that is not callable itself (ViT blocks are run by the parent). */
export class ModuleList extends Module {
  private readonly list: Module[] = [];
  constructor(modules: Module[] = []) {
    super();
    for (const m of modules) this.append(m);
  }
  append(m: Module): this {
    this.list.push(this.addModule(String(this.list.length), m));
    return this;
  }
  get length(): number {
    return this.list.length;
  }
  at(i: number): Module {
    const m = this.list[i < 0 ? this.list.length + i : i];
    if (!m) throw new RangeError(`ModuleList: index ${i} is out of range for ${this.list.length} modules`);
    return m;
  }
  [Symbol.iterator](): Iterator<Module> {
    return this.list[Symbol.iterator]();
  }
  forward(): Tensor {
    throw new Error('ModuleList: is not callable; iterate over it');
  }
}
