// The CPU backend: readable TypeScript kernels, the reference every other backend is tested against.
// Importing this module registers it with core as the default device.
import { registerBackend } from '../../core/device';
import { cpuBackend } from './backend';

registerBackend(cpuBackend);

export { cpuBackend };
export { setCpuThreads, getCpuThreads, startCpuWorkers } from './workers';
