export { ModuleBuilder } from './module';
export type { MemoryImport } from './module';
export { Expr, FunctionBuilder, Local, WasmBuildError } from './function';
export type { Features, Label, Operand, ValType } from './function';
export { detectFeatures } from './features';
export type { EngineFeatures } from './features';
export { uleb, sleb } from './leb128';
