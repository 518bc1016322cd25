// Node's built-in modules without an import a bundler can see. The library bundle must build for a browser
// with no flags (esbuild --platform=browser stops at a literal `import('node:fs')`), so Node-only code asks
// the running process for the module instead: process.getBuiltinModule (Node ≥ 20.16), else a dynamic import
// of a computed name (older Node 20), else null (a browser).
interface NodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (name: string) => unknown;
}

function nodeProcess(): NodeProcess | undefined {
  const p = (globalThis as { process?: NodeProcess }).process;
  return typeof p?.versions?.node === 'string' ? p : undefined;
}

export function isNode(): boolean {
  return nodeProcess() !== undefined;
}

/** The built-in module (e.g. 'node:fs'), or null outside Node. */
export async function nodeBuiltin<T>(name: `node:${string}`): Promise<T | null> {
  const p = nodeProcess();
  if (!p) return null;
  if (p.getBuiltinModule) return (p.getBuiltinModule(name) as T) ?? null;
  const computed = [name][0];
  return (await import(/* @vite-ignore */ computed)) as T;
}

/** The built-in module when it can be had synchronously (Node ≥ 20.16), else null. */
export function nodeBuiltinSync<T>(name: `node:${string}`): T | null {
  return (nodeProcess()?.getBuiltinModule?.(name) as T | undefined) ?? null;
}
