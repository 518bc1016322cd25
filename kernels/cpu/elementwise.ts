// Scalar formulas of the elementwise ops: they live in core/scalar-math.ts, shared with the wasm backend's
// scalar paths so both backends round alike.
export * from '../../core/scalar-math';
