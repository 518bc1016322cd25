import type { Pool2dParams, View } from '../core/backend';
import type { Host } from './runtime/host';
import type { GpuStorage } from './runtime/storage';
export function maxPool2d(host: Host, x: View, p: Pool2dParams): { values: GpuStorage; indices: GpuStorage } { void host; void x; void p; throw new Error('todo'); }
export function maxPool2dBackward(host: Host, x: View, w: View, s: readonly number[]): GpuStorage { void host; void x; void w; void s; throw new Error('todo'); }
