#!/usr/bin/env node
// chaosctl's entry point: checks the Node.js version before anything is imported (the commands'
// dependencies fail on older Node.js with a stack trace instead of a message), wires the commands,
// and turns any error into one line and an exit code.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `chaosctl: needs Node.js 22.19 or newer (24 LTS recommended); this is ${process.version}\n`,
  );
  process.exit(2);
}
// Compiled code kept on disk for the next start (in NODE_COMPILE_CACHE, else the system's temporary
// directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off): a dry run starts about 15% sooner. Where
// nothing can be written it does nothing.
(await import('node:module')).enableCompileCache();
const [{ CommanderError }, { buildProgram }, { EXIT }, { removeAll }] = await Promise.all([
  import('commander'),
  import('./commands/index.js'),
  import('./errors.js'),
  import('./experiments/cleanup.js'),
]);

// Ctrl-C: take every injected fault back and stop the traffic before leaving, and say so in one line.
process.once('SIGINT', () => {
  void removeAll().then((cleaned) => {
    process.stderr.write(
      `chaosctl: interrupted${cleaned.length ? `: ${cleaned.join(', ')}; no report written` : ''}\n`,
    );
    process.exit(130);
  });
});

await buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    if (error instanceof CommanderError) {
      // Commander already printed its one line (commands/index.ts) or the help; help and version are not errors.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const exitCode = (error as { exitCode?: number }).exitCode;
    // One line, whatever the message carries (JSON.parse quotes the file's own line breaks).
    process.stderr.write(`chaosctl: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exitCode = exitCode === EXIT.usage || exitCode === EXIT.unreachable ? exitCode : EXIT.failed;
  });
