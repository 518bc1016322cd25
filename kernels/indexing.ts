import type { View } from '../core/backend';
import type { Host } from './runtime/host';
import type { GpuStorage } from './runtime/storage';
export function gather(host: Host, x: View, dim: number, index: View): GpuStorage { void host; void x; void dim; void index; throw new Error('todo'); }
export function scatterAdd(host: Host, shape: readonly number[], dim: number, index: View, src: View): GpuStorage { void host; void shape; void dim; void index; void src; throw new Error('todo'); }
