import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CoreV1Api, Exec, type V1Status } from '@kubernetes/client-node';
import { startDouble, waitFor } from './fixtures.js';

describe('exec over WebSocket', () => {
  let env: Awaited<ReturnType<typeof startDouble>>;
  let core: CoreV1Api;
  beforeEach(async () => {
    env = await startDouble({ behaviour: { startMs: 50 } });
    core = env.config.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
    });
  });
  afterEach(() => env.close());

  const running = () =>
    waitFor(async () =>
      (await core.readNamespacedPod({ namespace: 'default', name: 'web' })).status?.phase === 'Running'
        ? true
        : undefined,
    );

  async function run(command: string[], container = 'app') {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    stdout.on('data', (c: Buffer) => out.push(c));
    stderr.on('data', (c: Buffer) => err.push(c));
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(env.config)
        .exec('default', 'web', container, command, stdout, stderr, null, false, resolve)
        .catch(reject);
    });
    return { status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
  }

  it('streams the program’s stdout and stderr and reports its exit code on the status channel', async () => {
    await running();
    env.kube.onExec({
      container: 'app',
      run: async ({ argv, stdout, stderr }) => {
        stdout(`ran ${argv.join(' ')}\n`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        stderr('warning\n');
        return argv[0] === 'false' ? 3 : 0;
      },
    });
    const ok = await run(['cat', '/sys/fs/cgroup/cpu.stat']);
    expect(ok).toEqual({
      status: { metadata: {}, status: 'Success' },
      stdout: 'ran cat /sys/fs/cgroup/cpu.stat\n',
      stderr: 'warning\n',
    });
    const failed = await run(['false']);
    expect(failed.status).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
  });

  it('aborts the program when the client closes the socket', async () => {
    await running();
    let aborted = false;
    env.kube.onExec({
      run: ({ signal }) =>
        new Promise<number>((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve(143);
          });
        }),
    });
    const socket = await new Exec(env.config).exec(
      'default',
      'web',
      'app',
      ['sleep', '1000'],
      new PassThrough(),
      null,
      null,
      false,
    );
    socket.close();
    await waitFor(() => aborted || undefined);
  });

  it('refuses an unknown container, one not running yet and a completed pod with 400', async () => {
    await running();
    const refused = { message: 'Unexpected server response: 400' };
    await expect(run(['ls'], 'nope')).rejects.toMatchObject(refused);
    // A WebSocket exec is authorized as get and, since KEP-4006, create on pods/exec.
    const requests = env.kube.requests.filter((r) => r.subresource === 'exec');
    expect(requests.map((r) => r.verb)).toEqual(['get', 'create']);
    env.kube.setBehaviour('default', 'slow', { startMs: 60_000 });
    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'slow' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
    });
    await expect(
      new Exec(env.config).exec('default', 'slow', 'app', ['ls'], new PassThrough(), null, null, false),
    ).rejects.toMatchObject(refused);
    env.kube.setPodPhase('default', 'web', { phase: 'Succeeded' });
    await expect(run(['ls'])).rejects.toMatchObject(refused);
  });
});
