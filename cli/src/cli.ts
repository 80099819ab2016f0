#!/usr/bin/env node
// chaosctl's entry point. It checks the Node.js version before anything is imported: the commands'
// dependencies (undici 8, @kubernetes/client-node 2, commander 15) fail on older Node.js with a
// stack trace instead of a message.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `chaosctl: needs Node.js 22.19 or newer (24 LTS recommended); this is ${process.version}\n`,
  );
  process.exit(2);
}
await import('./program.js');
