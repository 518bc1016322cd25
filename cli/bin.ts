#!/usr/bin/env node
// The installed `finercam` command (package.json "bin" → dist/cli.js, built from this file). It always runs:
// npm links the bin under another name (node_modules/.bin/finercam), so guessing "am I the main module" from
// the script path fails there — main.ts stays importable by tests without side effects instead.
import { main } from './main';

main(process.argv.slice(2)).then(
  // exit() rather than exitCode: CPU worker threads and a WebGPU device would otherwise keep the process alive.
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
