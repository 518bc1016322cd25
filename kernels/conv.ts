import type { Conv2dParams, View } from '../core/backend';
import type { Host } from './runtime/host';
import type { GpuStorage } from './runtime/storage';
export function conv2d(host: Host, x: View, w: View, p: Conv2dParams): GpuStorage { void host; void x; void w; void p; throw new Error('todo'); }
export function conv2dBackwardInput(host: Host, x: View, w: View, p: Conv2dParams, s: readonly number[]): GpuStorage { void host; void x; void w; void p; void s; throw new Error('todo'); }
export function conv2dBackwardWeight(host: Host, x: View, w: View, p: Conv2dParams, s: readonly number[]): GpuStorage { void host; void x; void w; void p; void s; throw new Error('todo'); }
