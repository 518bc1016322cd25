// pytorch-grad-cam's utils/find_layers.py over Module trees: find layers by type or by predicate, replace
// one layer or every layer of a type.
//
// In torch a parent calls its children through `_modules`, so replacing the entry is enough. Our modules
// call children through their own fields (`this.relu.forward(...)`, Sequential's list), so a replacement
// updates the registry AND every field of the parent (or array in a field) that holds the old child. A
// parent that reaches a child some other way (a closure) would not see the change.
import { Module } from './module';

type ModuleClass = abstract new (...args: never[]) => Module;

function children(m: Module): [string, Module][] {
  return m.namedChildren();
}

/** Every descendant (not the root), depth first in registration order, for which predicate is true. */
export function findLayerPredicate(model: Module, predicate: (layer: Module) => boolean): Module[] {
  if (!(model instanceof Module)) throw new TypeError('findLayerPredicate: model must be a Module');
  if (typeof predicate !== 'function') throw new TypeError('findLayerPredicate: predicate must be a function (layer) => boolean');
  const out: Module[] = [];
  const walk = (m: Module): void => {
    for (const [, c] of children(m)) {
      if (predicate(c)) out.push(c);
      walk(c);
    }
  };
  walk(model);
  return out;
}

/** Descendants whose class is exactly one of `types` (subclasses do not count, as `type(layer) in layer_types`). */
export function findLayerTypes(model: Module, types: readonly ModuleClass[]): Module[] {
  checkTypes(types, 'findLayerTypes');
  return findLayerPredicate(model, (l) => types.includes(l.constructor as ModuleClass));
}

/** Puts `replacement` where `parent` holds child `name`: the registry and the parent's fields. */
function setChild(parent: Module, name: string, old: Module, replacement: Module): void {
  (parent as unknown as { _modules: Map<string, Module> })._modules.set(name, replacement);
  const fields = parent as unknown as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const v = fields[key];
    if (v === old) fields[key] = replacement;
    else if (Array.isArray(v)) v.forEach((e, i) => { if (e === old) v[i] = replacement; });
  }
}

/** Replaces the first occurrence of `oldLayer` under `model`; false when it is not there. */
export function replaceLayer(model: Module, oldLayer: Module, newLayer: Module): boolean {
  if (!(model instanceof Module) || !(oldLayer instanceof Module) || !(newLayer instanceof Module)) {
    throw new TypeError('replaceLayer: model, oldLayer and newLayer must be Modules');
  }
  for (const [name, c] of children(model)) {
    if (c === oldLayer) {
      setChild(model, name, c, newLayer);
      return true;
    }
    if (replaceLayer(c, oldLayer, newLayer)) return true;
  }
  return false;
}

/**
 * Replaces every descendant that is an instance of `type` (subclasses too, as isinstance) by `newLayer`
 * (one shared instance, as the package), or by `newLayer(old)` when it is a function. Returns how many
 * were replaced.
 */
export function replaceAllLayerType(model: Module, type: ModuleClass, newLayer: Module | ((old: Module) => Module)): number {
  if (!(model instanceof Module)) throw new TypeError('replaceAllLayerType: model must be a Module');
  checkTypes([type], 'replaceAllLayerType');
  if (!(newLayer instanceof Module) && typeof newLayer !== 'function') throw new TypeError('replaceAllLayerType: newLayer must be a Module or a function (old) => Module');
  let n = 0;
  const walk = (m: Module): void => {
    for (const [name, c] of children(m)) {
      if (c instanceof type) {
        const r = newLayer instanceof Module ? newLayer : newLayer(c);
        if (!(r instanceof Module)) throw new TypeError('replaceAllLayerType: newLayer(old) must return a Module');
        setChild(m, name, c, r);
        n++;
      }
      walk(c);
    }
  };
  walk(model);
  return n;
}

function checkTypes(types: unknown, who: string): void {
  if (!Array.isArray(types) || !types.every((t) => typeof t === 'function' && (t === Module || t.prototype instanceof Module))) {
    throw new TypeError(`${who}: expected Module classes (e.g. [ReLU, Conv2d])`);
  }
}
