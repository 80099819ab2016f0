// The suite `run-all` runs when given none, and `npm start` runs locally: the demo shop's. Apart from
// load.ts so that `run-all --help` can name it without loading the suite loader.
import { resolve } from 'node:path';

export const BUILT_IN_SUITE = resolve(import.meta.dirname, '../../suites/default.yaml');
