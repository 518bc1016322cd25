// The `finercam` command line. Exit codes: 0 when everything succeeded, 1 when some items failed (after
// finishing the rest), 2 for usage errors (one line on stderr).
import { UsageError, helpText, type OptionSpec } from './args';
import { generate, GENERATE_OPTIONS } from './commands/generate';
import { explain, EXPLAIN_OPTIONS } from './commands/explain';
import { visualize, VISUALIZE_OPTIONS } from './commands/visualize';
import { trainProbe, TRAIN_PROBE_OPTIONS } from './commands/train-probe';
import { demo, DEMO_OPTIONS } from './commands/demo';
import { benchKernel, BENCH_KERNEL_OPTIONS } from './commands/bench-kernel';
import { packageVersion } from './version';

interface Command {
  run: (argv: string[]) => Promise<number>;
  options: Record<string, OptionSpec>;
  summary: string;
  usage: string;
}

const COMMANDS: Record<string, Command> = {
  demo: { run: demo, options: DEMO_OPTIONS, summary: 'explain built-in fine-grained bird images with a bundled model and print the evaluation table', usage: '[--lookalike | --clip] [--train] [--out out/demo]' },
  explain: { run: explain, options: EXPLAIN_OPTIONS, summary: 'one image → Baseline / Finer-Default / Finer-Compare strip (PNG) and the categories', usage: '<image> [options]' },
  generate: { run: generate, options: GENERATE_OPTIONS, summary: "CAMs for a dataset (the seed's generate_cams.py)", usage: '--dataset <folder|list.txt> --save <dir> --model <preset|options.json> --weights <file> [options]' },
  visualize: { run: visualize, options: VISUALIZE_OPTIONS, summary: "PNG strips from generate's output (the seed's visualize.py)", usage: '--dataset <folder> --cams <dir> --classes <file> --save <dir>' },
  'train-probe': { run: trainProbe, options: TRAIN_PROBE_OPTIONS, summary: "train a linear classifier on a frozen backbone (the seed's dino_train.py)", usage: '--dataset <root with train/ and val/ or test/> --model <preset> --weights <file> --out <file.safetensors>' },
  'bench-kernel': { run: benchKernel, options: BENCH_KERNEL_OPTIONS, summary: 'check a WGSL kernel variant against the CPU backend, then time it beside the built-in kernel and tfjs-webgpu', usage: '<variant.ts|.js> [--model resnet50] [--quick]' },
};

function usage(): string {
  return [
    'usage: finercam <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`),
    '',
    "'finercam help <command>' lists a command's options; 'finercam --version' prints the version.",
  ].join('\n');
}

const command = (name: string): Command | undefined => (Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined);
const unknown = (name: string) => `finercam: unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')}, help, version)`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h') {
    console.log(usage());
    return cmd ? 0 : 2;
  }
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    console.log(`finercam ${await packageVersion()}`);
    return 0;
  }
  if (cmd === 'help') {
    if (!rest[0] || rest[0] === 'help' || rest[0] === 'version') {
      console.log(usage());
      return 0;
    }
    const c = command(rest[0]);
    if (!c) {
      console.error(unknown(rest[0]));
      return 2;
    }
    console.log(helpText(rest[0], c.summary, c.usage, c.options));
    return 0;
  }
  const c = command(cmd);
  if (!c) {
    console.error(unknown(cmd));
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
