// Loaded before a bundled service (`node --import`) by platform.mjs: marks when its start reaches
// each step, from outside its code, prints them as one `start-steps {...}` line on stderr (ms since
// the process started) once the service listens, and exits. Benchmark use only.
import { createRequire, registerHooks } from 'node:module';
import { DatabaseSync } from 'node:sqlite';

const marks = { 'Node.js started': 0, 'ready for code': performance.now() };
const mark = (name) => {
  marks[name] ??= performance.now();
};
registerHooks({
  load(url, context, next) {
    const loaded = next(url, context);
    if (url.endsWith('/bundle/main.mjs')) mark('bundle read');
    // openDatabase imports the SQLite backend: the modules and the config are done.
    if (/\/chunks\/sqlite-[^/]*\.mjs$/.test(url)) mark('config read');
    return loaded;
  },
});
const exec = DatabaseSync.prototype.exec;
DatabaseSync.prototype.exec = function (...args) {
  mark('database open');
  return exec.apply(this, args);
};
// node:net by require: importing node:http's facade would load undici, which the service does not.
const { Server } = createRequire(import.meta.url)('node:net');
const listen = Server.prototype.listen;
let servers = 0;
Server.prototype.listen = function (...args) {
  // The probe listener first, then the service port (service-kit's startServer).
  mark('app built');
  if (++servers === 2)
    this.once('listening', () => {
      mark('listening');
      process.stderr.write(`start-steps ${JSON.stringify(marks)}\n`);
      process.exit(0);
    });
  return listen.apply(this, args);
};
