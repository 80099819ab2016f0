// Suite files, versions 1 and 2: what loads, what it resolves to, and one line naming the field of
// what does not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { BUILT_IN_SUITE } from './built-in.js';
import { loadSuite, parseSuite } from './load.js';

const v1 = (traffic: string) =>
  `version: 1\n${traffic}\nexperiments:\n  - { type: pod-kill, service: order-service }\n`;

describe('a version 1 suite', () => {
  it.each([
    ['retries: 0', { retries: 0 }],
    ['retries: 10\nretryBackoff: 20ms', { retries: 10, retryBackoff: '20ms' }],
    ['retryBackoff: 100', { retryBackoff: 100 }],
    ['rps: 7', { rps: 7 }],
  ])('accepts %j, as the built-in traffic with those settings', (traffic, expected) => {
    const suite = parseSuite(v1(traffic), 'suite.yaml');
    expect(suite.traffic).toMatchObject(expected);
    expect(suite.traffic?.requests[0]).toMatchObject({ target: 'order-service', path: '/orders' });
    expect(suite.probes.map((p) => p.name)).toEqual(['stock conserved']);
  });

  it.each([
    ['retries: 11', /^suite\.yaml: retries must be <= 10 \(got 11\)$/],
    ['retries: -1', /^suite\.yaml: retries must be >= 0 \(got -1\)$/],
    ['retries: 1.5', /^suite\.yaml: retries must be integer \(got 1\.5\)$/],
    ['retryBackoff: soon', /^suite\.yaml: retryBackoff must look like 300ms, 30s, 2m or 1h \(got 'soon'\)$/],
    ['retryBackoff: 6s', /^suite\.yaml: retryBackoff must be at most 5\.0 s \(got '6s'\)$/],
  ])('refuses %j, naming the field', (traffic, message) => {
    expect(() => parseSuite(v1(traffic), 'suite.yaml')).toThrow(message);
  });

  it('keeps a target of its own, with its selector and workload', () => {
    const suite = parseSuite(
      'version: 1\nexperiments:\n  - { type: pod-kill, service: db, selector: app=db, workload: statefulset/db }\n',
      'suite.yaml',
    );
    expect(suite.targets.db).toEqual({ selector: 'app=db', workload: 'statefulset/db' });
    expect(suite.experiments[0]).toMatchObject({
      service: 'db',
      selector: 'app=db',
      workload: 'statefulset/db',
    });
  });
});

const v2 = (extra: string, experiments = '  - { type: pod-kill, target: web }') =>
  `version: 2
targets:
  web: { selector: app=web, workload: deployment/web }
traffic:
  requests:
    - { target: web, path: /items, method: POST, body: { n: '{{seq}}' }, readBack: { path: '/items/{{response.id}}' } }
${extra}
experiments:
${experiments}
`;

describe('a version 2 suite', () => {
  it('resolves each experiment against its target', () => {
    const suite = parseSuite(v2(''), 'suite.yaml');
    expect(suite.experiments).toEqual([
      { type: 'pod-kill', service: 'web', selector: 'app=web', workload: 'deployment/web' },
    ]);
    expect(suite.probes).toEqual([]);
    expect(suite.abort).toEqual([]);
  });

  it('loads the built-in suite, the demo shop as data', () => {
    const suite = loadSuite(BUILT_IN_SUITE);
    expect(Object.keys(suite.targets)).toEqual([
      'order-service',
      'inventory-service',
      'notification-service',
    ]);
    expect(suite.experiments.map((e) => e.type)).toEqual([
      'pod-kill',
      'pod-kill',
      'pod-kill',
      'network-delay',
      'cpu-stress',
    ]);
  });

  it.each([
    [
      '',
      '  - { type: pod-kill, target: api }',
      /^s: experiments\[0\]\.target names no target of this suite \(got 'api'; targets: web\)$/,
    ],
    [
      '',
      '  - { type: pod-kil, target: web }',
      /^s: experiments\[0\]\.type must be one of pod-kill, network-delay/,
    ],
    [
      '',
      '  - { type: network-delay, target: web, latency: 0ms, duration: 5s }',
      /^s: experiments\[0\]\.latency must be more than 0/,
    ],
    [
      'probes:\n  - { name: up, http: { target: db } }',
      undefined,
      /^s: probes\[0\]\.http\.target names no target/,
    ],
    [
      'probes:\n  - { name: up, http: { path: /x }, promql: { url: http://p:9090, query: up } }',
      undefined,
      /^s: probes\[0\] must have exactly one of http, promql/,
    ],
    [
      'probes:\n  - { name: up, every: soon, http: { path: /x } }',
      undefined,
      /^s: probes\[0\]\.every must look like 300ms/,
    ],
    [
      'probes:\n  - { name: up, promql: { url: prometheus, query: up, atMost: 1 } }',
      undefined,
      /^s: probes\[0\]\.promql\.url must be an http:\/\/ or https:\/\/ URL \(got 'prometheus'\)$/,
    ],
    ['abort:\n  - { errorRate: 2 }', undefined, /^s: abort\[0\]\.errorRate must be <= 1 \(got 2\)$/],
    [
      'abort:\n  - { window: 5s }',
      undefined,
      /^s: abort\[0\] must have exactly one of probe, errorRate, promql$/,
    ],
    ['color: blue', undefined, /^s: the suite has an unknown field: color$/],
  ])('refuses %j %j, naming the field', (extra, experiments, message) => {
    expect(() => parseSuite(v2(extra, experiments), 's')).toThrow(message);
  });

  it("loads docs/chaosctl.md's example for a user's own service, templates with spaces in paths included", () => {
    const docs = readFileSync(join(import.meta.dirname, '../../../docs/chaosctl.md'), 'utf8');
    const example = /### A suite for your own service[\s\S]*?```yaml\n([\s\S]*?)```/.exec(docs)?.[1] ?? '';
    const suite = parseSuite(example, 'docs');
    expect(suite.traffic?.requests.map((r) => r.path)).toEqual(['/carts', '/products?page={{int 1 20}}']);
    expect(suite.experiments[1]).toMatchObject({
      type: 'network-delay',
      service: 'redis',
      callers: ['checkout'],
    });
  });

  it('refuses an unknown field of a local target and a bad version', () => {
    expect(() =>
      parseSuite(
        'version: 2\ntargets:\n  web: { run: { command: [x], port: 1 } }\nexperiments:\n  - { type: pod-kill, target: web }\n',
        's',
      ),
    ).toThrow(/^s: targets\.web\.run has an unknown field: port$/);
    expect(() => parseSuite('version: 3\n', 's')).toThrow(/^s: version must be 2 \(or 1\) \(got 3\)$/);
    expect(() => parseSuite('version: [\n', 's')).toThrow(/^s: not valid YAML/);
  });
});
