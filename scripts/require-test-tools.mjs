// jest's globalSetup: the tests run real tools (xmllint, promtool, Prometheus, the Pushgateway,
// Chromium, lighttpd). Without one, `npm test` stops before any test with one line naming each missing tool
// and the Debian package that has it, instead of a handful of failures saying `spawn xmllint ENOENT`.
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Each tool, and the Debian package that installs it. */
const TOOLS = [
  ['xmllint', 'libxml2-utils'],
  ['promtool', 'prometheus'],
  ['prometheus', 'prometheus'],
  ['prometheus-pushgateway', 'prometheus-pushgateway'],
  ['chromium', 'chromium'],
  // A server nobody on this project wrote, as chaosctl's target (examples/webdav).
  ['lighttpd', 'lighttpd lighttpd-mod-webdav'],
];

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The tools not found on `env.PATH` (Chromium: at CHROMIUM_PATH when set), with their packages. */
export function missingTools(env = process.env) {
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  const found = (tool) =>
    tool === 'chromium' && env.CHROMIUM_PATH
      ? executable(env.CHROMIUM_PATH)
      : dirs.some((dir) => isAbsolute(dir) && executable(join(dir, tool)));
  return TOOLS.filter(([tool]) => !found(tool)).map(([tool, pkg]) => ({ tool, pkg }));
}

export default function requireTestTools() {
  const missing = missingTools();
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((m) => m.pkg))].join(' ');
  process.stderr.write(
    `npm test needs ${missing.map((m) => m.tool).join(', ')}, not found on PATH: sudo apt-get install -y ${packages}\n`,
  );
  process.exit(1);
}
