// The package's version for `finercam --version`, read from the package.json above this module: the
// sources (cli/), the bundle (dist/cli.js) and an installed package (node_modules/finercam/dist) all
// have it there, so the number printed is the one npm installed, never a copy that can drift.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function packageVersion(): Promise<string> {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'finercam' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no (readable) package.json here: keep walking up
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
