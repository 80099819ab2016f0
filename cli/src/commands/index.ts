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

export function buildProgram(): Command {
  const program = new Command('chaosctl')
    .description('Chaos experiments against the chaos-platform services: break, measure recovery, gate CI')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  // addCommand, unlike command(), does not pass on exitOverride and the help-after-error line.
  const add = (parent: Command, child: Command) => parent.addCommand(child.copyInheritedSettings(parent));
  for (const each of FAULTS) add(program, fault.command(each as never));
  for (const module of [runAll, report]) add(program, module.command());
  const local = program
    .command('local')
    .description('the platform as local processes: the no-cluster stand-in');
  for (const module of [localUp, localStatus, localDown]) add(local, module.command());
  return program;
}
