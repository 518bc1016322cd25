// FINERCAM_WGSL_DUMP=dir (Node): every shader is written to dir/<key>.wgsl as it is compiled, so the WGSL
// that matmul/conv assemble at run time can be read, diffed between variants and fed to other tools.
import { nodeBuiltinSync } from '../../../core/node-builtins';

type Fs = typeof import('node:fs');

function dumpDir(): string | null {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const dir = p?.env?.FINERCAM_WGSL_DUMP;
  return dir ? dir : null;
}

/** The file name for a kernel key: the key's characters that are unsafe in file names become '_'. */
export function dumpFileName(key: string): string {
  return `${key.replace(/[^A-Za-z0-9._+-]/g, '_')}.wgsl`;
}

/** Writes the shader when FINERCAM_WGSL_DUMP is set; a failure to write is reported once, never thrown. */
let warned = false;
export function dumpWgsl(key: string, code: string): void {
  const dir = dumpDir();
  if (!dir) return;
  const fs = nodeBuiltinSync<Fs>('node:fs');
  try {
    if (!fs) throw new Error('node:fs is not available here');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${dir}/${dumpFileName(key)}`, `// kernel ${key}\n${code}\n`);
  } catch (e) {
    if (!warned) console.warn(`finercam: FINERCAM_WGSL_DUMP=${dir}: cannot write shaders (${(e as Error).message})`);
    warned = true;
  }
}
