// The suite `run-all` runs when given none, and `npm start` runs locally: the demo shop's. Apart from
// load.ts so that `run-all --help` can name it without loading the suite loader.
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';

export const BUILT_IN_SUITE = join(PACKAGE_ROOT, 'suites/default.yaml');
