// The CPU backend: readable TypeScript kernels, the reference every other backend is tested against.
// Importing this module registers it with core as the default device.
import { registerBackend } from '../../core/device';
import { onCpuThreads } from '../../core/threads';
import { cpuBackend } from './backend';
import { setCpuThreads } from './workers';

registerBackend(cpuBackend);
onCpuThreads(setCpuThreads);

export { cpuBackend };
export { getCpuThreads, startCpuWorkers } from './workers';
