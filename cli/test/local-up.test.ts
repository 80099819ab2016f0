// `chaosctl local up` beside another platform: it trusts only its own supervisor, and says in one
// line why it could not start, leaving the other platform alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { localUp, runChaosctl } from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'chaosctl-up-'));
const first = join(work, 'first');
const chaosctl = (args: string[]) => runChaosctl(args, { cwd: work });
let base = 0;

beforeAll(async () => {
  ({ base } = await localUp(first, work));
}, 90_000);

afterAll(async () => {
  await chaosctl(['local', 'down', '--state-dir', first]);
  rmSync(work, { recursive: true, force: true });
}, 30_000);

describe('chaosctl local up on ports another platform holds', () => {
  it('fails with one line naming the port in use, and the other platform keeps running', async () => {
    const second = join(work, 'second');
    const up = await chaosctl(['local', 'up', '--base-port', String(base), '--state-dir', second]);
    expect(up.code).toBe(3);
    expect(up.stdout).toBe('');
    expect(up.stderr.trim().split('\n')).toHaveLength(1);
    const port = Number(/port (\d+) \(.+\) is already in use \(EADDRINUSE\)/.exec(up.stderr)?.[1]);
    expect([base, base + 1, base + 2, base + 99]).toContain(port);

    expect((await chaosctl(['local', 'status', '--state-dir', second])).code).toBe(3);
    const status = await chaosctl(['local', 'status', '--json', '--state-dir', first]);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, ready: true });
  }, 60_000);
});
