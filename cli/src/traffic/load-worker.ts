// One generator thread of a ThreadedLoad (threaded.ts): its share of the schedule on its own event
// loop and connections; at stop, its run's summary (counts and encoded histograms), not its samples.
import { parentPort, workerData } from 'node:worker_threads';
import { LoadGenerator, type LoadOptions } from './load.js';
import { encodeSummary, summarise } from './stats.js';

export type ToWorker = { start: number } | { stop: number };
export type FromWorker = { ready: true } | { summary: ReturnType<typeof encodeSummary> };

const port = parentPort;
if (!port) throw new Error('load-worker.js runs as a worker thread of ThreadedLoad');
const load = new LoadGenerator(workerData as LoadOptions);
port.on('message', async (message: ToWorker) => {
  if ('start' in message) {
    load.start(message.start);
    return;
  }
  const summary = encodeSummary(summarise(await load.stop(message.stop)));
  port.postMessage({ summary } satisfies FromWorker);
  port.close();
});
port.postMessage({ ready: true } satisfies FromWorker);
