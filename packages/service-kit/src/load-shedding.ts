// Sheds load with 503 + Retry-After when the event loop lags or the heap fills up.
// Registered only around business routes: /healthz, /readyz and /metrics must keep answering
// under pressure, or the kubelet restarts a busy pod and Prometheus loses sight of it.
import { getHeapStatistics } from 'node:v8';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import { sendProblem } from './problem.js';

export interface LoadSheddingOptions {
  maxEventLoopDelayMs: number;
  maxHeapRatio: number;
  retryAfterSeconds: number;
}

export async function registerLoadShedding(app: FastifyInstance, opts: LoadSheddingOptions): Promise<void> {
  const shed = new app.metrics.client.Counter({
    name: 'http_load_shed_total',
    help: 'Requests refused with 503 because the process was under pressure',
    labelNames: ['reason'],
  });
  // Present from the start (at 0) for the checks in use, so dashboards and alerts see a series.
  if (opts.maxEventLoopDelayMs > 0) shed.inc({ reason: 'eventLoopDelay' }, 0);
  if (opts.maxHeapRatio > 0) shed.inc({ reason: 'heapUsedBytes' }, 0);
  await app.register(underPressure, {
    maxEventLoopDelay: opts.maxEventLoopDelayMs,
    maxHeapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * opts.maxHeapRatio),
    retryAfter: opts.retryAfterSeconds,
    pressureHandler: (_request, reply, type, value) => {
      shed.inc({ reason: type });
      sendProblem(reply, {
        status: 503,
        title: 'Service Unavailable',
        type: 'overloaded',
        detail: `shedding load: ${type} at ${Math.round(Number(value))}`,
        headers: { 'retry-after': String(opts.retryAfterSeconds) },
      });
    },
  });
}
