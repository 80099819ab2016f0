// The CPU burner both drivers run (`node -e CPU_BURNER <ms>`): it spins until its own deadline, so
// it ends by itself even if chaosctl dies, then prints the CPU milliseconds it used, which proves
// the burn ran.
export const CPU_BURNER = [
  'const until = Date.now() + Number(process.argv[1]);',
  'while (Date.now() < until) { for (let i = 0; i < 1e5; i++); }',
  'const { user, system } = process.cpuUsage();',
  'console.log((user + system) / 1000);',
].join('\n');

/** The CPU milliseconds a burner reported (its last output line). */
export const reportedCpuMs = (output: string) => Number(output.trim().split('\n').at(-1)) || 0;
