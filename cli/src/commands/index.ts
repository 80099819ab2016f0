// chaosctl's command tree: each command is its own module; this only puts them together.
import { Command } from 'commander';
import { VERSION } from '../version.js';
import * as cpuStress from './cpu-stress.js';
import * as localDown from './local/down.js';
import * as localStatus from './local/status.js';
import * as localUp from './local/up.js';
import * as networkDelay from './network-delay.js';
import * as podKill from './pod-kill.js';
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
  for (const module of [podKill, networkDelay, cpuStress, runAll, report]) add(program, module.command());
  const local = program
    .command('local')
    .description('the platform as local processes: the no-cluster stand-in');
  for (const module of [localUp, localStatus, localDown]) add(local, module.command());
  return program;
}
