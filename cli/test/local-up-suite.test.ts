// `chaosctl local up --suite`: a v2 suite file's `run` targets (lighttpd with WebDAV, Python's
// http.server) as the local platform, up, used, seen by `local status` and stopped by `local down`;
// and a target that never gets ready fails `up` in one line and leaves nothing running.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { alive } from '../src/drivers/local/platform.js';
import type { PlatformStatus } from '../src/drivers/local/supervisor.js';
import { LIGHTTPD_CONF, requireLighttpd } from '../src/drivers/local/test-support/lighttpd.js';
import { freeBasePort, runChaosctl } from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'chaosctl-up-suite-'));
const chaosctl = (args: string[]) => runChaosctl(args, { cwd: work });
const stateDirs: string[] = [];

afterAll(async () => {
  for (const stateDir of stateDirs) await chaosctl(['local', 'down', '--state-dir', stateDir]);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

/** A suite file in `work` with these targets and one experiment (a v2 file needs one). */
function suiteFile(name: string, targets: string): string {
  const file = join(work, name);
  writeFileSync(
    file,
    `version: 2\ntargets:\n${targets}\nexperiments:\n  - name: a kill\n    type: pod-kill\n    target: webdav\n`,
  );
  return file;
}

/** `local up --suite` on a free base port, in a state dir of its own that afterAll takes down. */
async function upWith(suite: string, name: string, ...extra: string[]) {
  const base = await freeBasePort();
  const stateDir = join(work, name);
  stateDirs.push(stateDir);
  const up = await chaosctl([
    'local',
    'up',
    '--suite',
    suite,
    ...extra,
    '--base-port',
    String(base),
    '--state-dir',
    stateDir,
  ]);
  return { up, base, stateDir };
}

describe('chaosctl local up --suite', () => {
  it("runs the suite's targets behind consecutive ports until local down", async () => {
    requireLighttpd();
    writeFileSync(join(work, 'lighttpd.conf'), LIGHTTPD_CONF);
    const suite = suiteFile(
      'servers.yaml',
      `  webdav:
    run:
      command: [lighttpd, -D, -f, lighttpd.conf]
      env: { DATA_DIR: '{dataDir}' }
      portEnv: PORT
  files:
    run:
      command: [python3, -m, http.server, '{port}', --bind, 127.0.0.1]
      replicas: 1`,
    );
    const { up, base, stateDir } = await upWith(suite, 'servers');
    expect(up).toMatchObject({ code: 0, stderr: '' });
    expect(up.stdout).toContain(
      `webdav http://127.0.0.1:${base}, files http://127.0.0.1:${base + 1}, replicas: webdav 2, files 1`,
    );

    const put = await request(`http://127.0.0.1:${base}/up.txt`, {
      method: 'PUT',
      body: 'stored',
      reset: true,
    });
    expect(put.statusCode).toBe(201);
    await put.body.dump();
    const get = await request(`http://127.0.0.1:${base}/up.txt`, { reset: true });
    expect(await get.body.text()).toBe('stored');

    const status = await chaosctl(['local', 'status', '--json', '--state-dir', stateDir]);
    const seen = JSON.parse(status.stdout) as PlatformStatus & { ready: boolean };
    expect(seen.ready).toBe(true);
    expect(Object.keys(seen.services)).toEqual(['webdav', 'files']);
    expect(seen.services.files?.replicas).toHaveLength(1);
    // A second platform in the same state dir is refused.
    const again = await chaosctl([
      'local',
      'up',
      '--suite',
      suite,
      '--base-port',
      String(base),
      '--state-dir',
      stateDir,
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('a local platform is already running');

    const pids = Object.values(seen.services).flatMap((s) => s.replicas.map((r) => r.pid ?? 0));
    expect((await chaosctl(['local', 'down', '--state-dir', stateDir])).code).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
  }, 90_000);

  it('gives every target the replicas --replicas says', async () => {
    const suite = suiteFile(
      'one.yaml',
      `  webdav:
    run:
      command: [python3, -m, http.server, '{port}', --bind, 127.0.0.1]
      replicas: 1`,
    );
    const { up, base, stateDir } = await upWith(suite, 'replicas', '--replicas', '3');
    expect(up.stdout).toContain(`webdav http://127.0.0.1:${base}, 3 replicas each`);
    expect((await chaosctl(['local', 'down', '--state-dir', stateDir])).code).toBe(0);
  }, 60_000);

  it('fails in one line naming a target that is not ready within its startTimeout, and stops everything', async () => {
    const suite = suiteFile(
      'never.yaml',
      `  webdav:
    run:
      command: [python3, -m, http.server, '{port}', --bind, 127.0.0.1]
      readiness: /missing
      startTimeout: 2s`,
    );
    const { up, stateDir } = await upWith(suite, 'never');
    expect(up.code).toBe(3);
    expect(up.stderr.trim().split('\n')).toEqual([
      expect.stringContaining('target webdav was not ready within 2s: webdav-0: GET /missing answered 404'),
    ]);
    const status = await chaosctl(['local', 'status', '--state-dir', stateDir]);
    expect(status.stdout).toBe('no local platform is running\n');
  }, 60_000);

  it('refuses a suite file with no local targets, or a command not on PATH, in one line', async () => {
    const kube = suiteFile('kube.yaml', '  webdav:\n    selector: app=webdav');
    const none = await chaosctl(['local', 'up', '--suite', kube, '--state-dir', join(work, 'kube')]);
    expect(none).toMatchObject({ code: 2, stdout: '' });
    expect(none.stderr.trim()).toMatch(/kube\.yaml: no target has a run command for the local platform$/);
    const missing = suiteFile('missing.yaml', '  webdav:\n    run:\n      command: [no-such-server-here]');
    const up = await chaosctl(['local', 'up', '--suite', missing, '--state-dir', join(work, 'missing')]);
    expect(up).toMatchObject({ code: 2, stdout: '' });
    expect(up.stderr.trim()).toMatch(/target webdav: no-such-server-here is not found in PATH$/);
  });
});
