#!/usr/bin/env node
// The `finercam` command line. Exit codes: 0 when everything succeeded, 1 when some items failed (after
// finishing the rest), 2 for usage errors (one line on stderr).
import { UsageError, helpText, type OptionSpec } from './args';
import { generate, GENERATE_OPTIONS } from './commands/generate';
import { explain, EXPLAIN_OPTIONS } from './commands/explain';
import { visualize, VISUALIZE_OPTIONS } from './commands/visualize';
import { trainProbe, TRAIN_PROBE_OPTIONS } from './commands/train-probe';
import { demo, DEMO_OPTIONS } from './commands/demo';

interface Command {
  run: (argv: string[]) => Promise<number>;
  options: Record<string, OptionSpec>;
  summary: string;
  usage: string;
}

const COMMANDS: Record<string, Command> = {
  demo: { run: demo, options: DEMO_OPTIONS, summary: 'explain built-in fine-grained bird images with the bundled model and print the evaluation table', usage: '[--train] [--out out/demo]' },
  explain: { run: explain, options: EXPLAIN_OPTIONS, summary: 'one image → Baseline / Finer-Default / Finer-Compare strip (PNG) and the categories', usage: '<image> [options]' },
  generate: { run: generate, options: GENERATE_OPTIONS, summary: "CAMs for a dataset (the seed's generate_cams.py)", usage: '--dataset <folder|list.txt> --save <dir> --model <preset|options.json> --weights <file> [options]' },
  visualize: { run: visualize, options: VISUALIZE_OPTIONS, summary: "PNG strips from generate's output (the seed's visualize.py)", usage: '--dataset <folder> --cams <dir> --classes <file> --save <dir>' },
  'train-probe': { run: trainProbe, options: TRAIN_PROBE_OPTIONS, summary: "train a linear classifier on a frozen backbone (the seed's dino_train.py)", usage: '--dataset <root with train/ and val/ or test/> --model <preset> --weights <file> --out <file.safetensors>' },
};

function usage(): string {
  return [
    'usage: finercam <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`),
    '',
    "'finercam help <command>' lists a command's options.",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h') {
    console.log(usage());
    return cmd ? 0 : 2;
  }
  if (cmd === 'help') {
    const c = rest[0] ? COMMANDS[rest[0]] : undefined;
    console.log(c ? helpText(rest[0], c.summary, c.usage, c.options) : usage());
    return 0;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    console.error(`finercam: unknown command '${cmd}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(helpText(cmd, c.summary, c.usage, c.options));
    return 0;
  }
  try {
    return await c.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`finercam ${e.message}`);
      return 2;
    }
    console.error(`finercam ${cmd}: ${(e as Error).stack ?? String(e)}`);
    return 1;
  }
}

// Run when executed directly (node dist/cli.js ...), not when imported by tests.
const invoked = typeof process !== 'undefined' && process.argv[1] && /cli(\.js|\.mjs|[\\/]main\.ts)$/.test(process.argv[1]);
if (invoked) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
