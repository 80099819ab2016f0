// chaosctl's command tree: each command is its own module; this only puts them together.
import { Command } from 'commander';
import { FAULTS } from '../faults/registry.js';
import { VERSION } from '../version.js';
import * as fault from './fault.js';
import * as localDown from './local/down.js';
import * as localStatus from './local/status.js';
import * as localUp from './local/up.js';
import * as report from './report.js';
import * as runAll from './run-all.js';
import * as validate from './validate.js';

export function buildProgram(): Command {
  const program = new Command('chaosctl')
    .description('Chaos experiments against any HTTP service: break it, measure recovery, gate CI')
    .version(VERSION)
    .exitOverride();
  // addCommand, unlike command(), does not pass on exitOverride and the output configuration.
  const add = (parent: Command, child: Command) => {
    parent.addCommand(child.copyInheritedSettings(parent).configureOutput({ outputError: usageLine(child) }));
    return child;
  };
  program.configureOutput({ outputError: usageLine(program) });
  for (const each of FAULTS) add(program, fault.command(each as never));
  for (const module of [runAll, validate, report]) add(program, module.command());
  const local = add(
    program,
    new Command('local').description('the platform as local processes: the no-cluster stand-in'),
  );
  for (const module of [localUp, localStatus, localDown]) add(local, module.command());
  return program;
}

/** Commander's "error: unknown option '--bogus'" as chaosctl's one line, naming the command's help. */
const usageLine = (command: Command) => (message: string, write: (text: string) => void) => {
  const path: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) path.unshift(c.name());
  write(`chaosctl: ${message.replace(/^error: /, '').trim()} (see ${path.join(' ')} --help)\n`);
};
