/** The `tfjs-gala` command and its subcommands; each subcommand lives in its own file. */

import { Command } from 'commander';

import { registerBenchCommand } from './bench';
import { registerDemoCommand } from './demo';
import type { CliEnvironment } from './environment';
import { registerMakeSubsetCommand } from './make_subset';

/** Builds the command-line program. `main.ts` runs it on `process.argv`; tests call it in-process. */
export function createProgram(env: CliEnvironment): Command {
  const program = new Command('tfjs-gala')
    .description('GALA loss for long-tailed classification in TensorFlow.js: demo, benchmark and tools.')
    .showHelpAfterError('(run with --help for usage)');
  registerDemoCommand(program, env);
  registerBenchCommand(program, env);
  registerMakeSubsetCommand(program, env);
  return program;
}
