/**
 * A Node.js program that holds `argv[1]` bytes, written so every page is resident, until
 * `argv[2]` ms have passed (it ends on its own if chaosctl dies): for `node -e`.
 */
export const HOLDER = [
  'const bytes = Number(process.argv[1]), held = [];',
  'for (let i = 0; i < bytes; i += 1048576) held.push(Buffer.alloc(Math.min(1048576, bytes - i), 1));',
  'setTimeout(() => process.exit(0), Number(process.argv[2]));',
].join(' ');
