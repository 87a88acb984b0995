/** The `tfjs-gala` command and its subcommands; each subcommand lives in its own file. */

import { Command } from 'commander';

import { registerBenchCommand } from './bench';
import { registerDemoCommand } from './demo';
import type { CliEnvironment } from './environment';
import { registerGpuCheckCommand } from './gpu_check';
import { registerMakeSubsetCommand } from './make_subset';

/** Builds the command-line program. `main.ts` runs it on `process.argv`; tests call it in-process. */
export function createProgram(env: CliEnvironment): Command {
  const program = new Command('tfjs-gala')
    .description('GALA loss for long-tailed classification in TensorFlow.js: demo, benchmark and tools.')
    .showHelpAfterError('(run with --help for usage)');
  if (env.version !== undefined) program.version(env.version, '-V, --version', 'print the version of the tfjs-gala command (package tfjs-gala-cli)');
  registerDemoCommand(program, env);
  registerBenchCommand(program, env);
  registerGpuCheckCommand(program, env);
  registerMakeSubsetCommand(program, env);
  return program;
}
