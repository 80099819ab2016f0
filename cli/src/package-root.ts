// chaosctl's own directory (cli/), where its package.json and suites/ are. This file is one level
// under it wherever it runs from: src/ (tests), dist/ (tsc), or bundle/, where esbuild puts every
// chunk flat (scripts/bundle-cli.mjs).
import { resolve } from 'node:path';

export const PACKAGE_ROOT = resolve(import.meta.dirname, '..');
