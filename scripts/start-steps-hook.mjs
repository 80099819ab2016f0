// Loaded before a bundled service (`node --import`) by platform.mjs: marks when its start reaches
// each step, from outside its code, prints them as one `start-steps {...}` line on stderr (ms since
// the process started, and cpuMs, its CPU time then) once the service listens, and exits.
// Benchmark use only.
import { createRequire } from 'node:module';

const marks = { 'Node.js started': 0, 'ready for code': performance.now() };
const mark = (name) => {
  marks[name] ??= performance.now();
};
// Node's own modules by require(): importing node:net's facade would load more than the service does.
const require = createRequire(import.meta.url);
// The loader (bundle/main.mjs) runs the bundle once V8 has compiled it (or read its code cache).
const { Script } = require('node:vm');
const run = Script.prototype.runInThisContext;
Script.prototype.runInThisContext = function (...args) {
  mark('bundle compiled');
  return run.apply(this, args);
};
// The SQLite backend opens its file: the modules and the config are done.
const sqlite = require('node:sqlite');
sqlite.DatabaseSync = class extends sqlite.DatabaseSync {
  constructor(...args) {
    mark('config read');
    super(...args);
  }
  exec(...args) {
    mark('database open');
    return super.exec(...args);
  }
};
const { Server } = require('node:net');
const listen = Server.prototype.listen;
let servers = 0;
Server.prototype.listen = function (...args) {
  // The probe listener first, then the service port (service-kit's startServer).
  mark('app built');
  if (++servers === 2)
    this.once('listening', () => {
      mark('listening');
      // And the CPU the process used to get there (user + system): what a busy machine changes least.
      const { user, system } = process.cpuUsage();
      process.stderr.write(`start-steps ${JSON.stringify({ ...marks, cpuMs: (user + system) / 1000 })}\n`);
      // What startServer would do next: the next start reads the bundle's code cache.
      globalThis[Symbol.for('chaos-platform.save-code-cache')]?.();
      process.exit(0);
    });
  return listen.apply(this, args);
};
