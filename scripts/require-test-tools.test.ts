import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { missingTools } from './require-test-tools.mjs';

const empty = mkdtempSync(join(tmpdir(), 'no-tools-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe("the tests' required tools", () => {
  it('names each missing tool with its Debian package', () => {
    expect(missingTools({ PATH: empty })).toEqual([
      { tool: 'xmllint', pkg: 'libxml2-utils' },
      { tool: 'promtool', pkg: 'prometheus' },
      { tool: 'prometheus', pkg: 'prometheus' },
      { tool: 'prometheus-pushgateway', pkg: 'prometheus-pushgateway' },
      { tool: 'chromium', pkg: 'chromium' },
      { tool: 'lighttpd', pkg: 'lighttpd lighttpd-mod-webdav' },
    ]);
  });

  it('finds every one on this machine (npm test would not have started otherwise)', () => {
    expect(missingTools()).toEqual([]);
  });

  it('stops jest before any test with one line saying what to install', async () => {
    const jest = join(import.meta.dirname, '../node_modules/jest/bin/jest.js');
    const run = await promisify(execFile)(process.execPath, [jest, 'scripts/require-test-tools.test.ts'], {
      cwd: join(import.meta.dirname, '..'),
      env: { PATH: empty, NODE_OPTIONS: '--experimental-vm-modules' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      'npm test needs xmllint, promtool, prometheus, prometheus-pushgateway, chromium, lighttpd, not found on PATH: ' +
        'sudo apt-get install -y libxml2-utils prometheus prometheus-pushgateway chromium lighttpd lighttpd-mod-webdav',
    ]);
  }, 30_000);
});
