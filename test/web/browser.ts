// Which Chromium the browser tests drive (Debian's, which .ci/run installs), and the rule the WebGPU tests
// follow (test/webgpu/setup.ts): with CI set a missing browser fails the run; otherwise the suite is reported
// as skipped, with a loud message, never silently passed.
import { existsSync } from 'node:fs';
import { describe, it } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const inCI = Boolean(process.env.CI);

if (!hasChromium) {
  console.warn(`\n*** ${CHROMIUM} IS MISSING: the browser tests are ${inCI ? 'FAILING (CI is set)' : 'SKIPPED (apt-get install -y chromium libvulkan1; set CI=1 to make this an error)'} ***\n`);
}

/** `describe` for suites that need Chromium. */
export function describeBrowser(name: string, fn: () => void): void {
  if (hasChromium) describe(name, fn);
  else if (inCI) {
    describe(name, () => {
      it('has Chromium', () => {
        throw new Error(`${CHROMIUM} is missing and CI is set: apt-get install -y chromium libvulkan1 (.ci/run does)`);
      });
    });
  } else describe.skipIf(!hasChromium)(name, fn);
}
