// The Jenkinsfile cannot run here; what can be checked is that everything it points at exists and
// agrees with what chaosctl writes: the scripts, the chart, the JUnit file and the report.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { REPORT_FILES } from '../cli/src/reporters/write.js';

const root = resolve(import.meta.dirname, '..');
const jenkinsfile = readFileSync(join(root, 'Jenkinsfile'), 'utf8');
const scripts = [...new Set([...jenkinsfile.matchAll(/\b(ci\/[\w-]+\.sh)\b/g)].map((m) => m[1] as string))];

describe('Jenkinsfile', () => {
  it("has the seed's stages in order", () => {
    const stages = [...jenkinsfile.matchAll(/stage\('([^']+)'\)/g)].map((m) => m[1]);
    expect(stages).toEqual([
      'Checkout',
      'Build images',
      'Load into KIND',
      'Deploy',
      'Chaos Test',
      'Validate',
    ]);
  });

  it.each(scripts)('%s exists, is executable and parses', async (script) => {
    const path = join(root, script);
    accessSync(path, constants.X_OK);
    await promisify(execFile)('bash', ['-n', path]);
  });

  it('publishes the JUnit file chaosctl writes into the report dir it is given', () => {
    const reportDir = /REPORT_DIR = '([^']+)'/.exec(jenkinsfile)?.[1];
    expect(reportDir).toBe('reports');
    expect(jenkinsfile).toContain(`junit testResults: '${reportDir}/${REPORT_FILES.junit}'`);
    expect(jenkinsfile).toContain(`"$REPORT_DIR/${REPORT_FILES.json}"`);
    expect(jenkinsfile).toContain(`archiveArtifacts artifacts: '${reportDir}/**'`);
  });

  it('deploys the chart that exists, with --wait --atomic', () => {
    const deploy = readFileSync(join(root, 'ci/deploy.sh'), 'utf8');
    const chart = /helm upgrade --install chaos-platform (\S+)/.exec(deploy)?.[1] ?? '';
    expect(existsSync(join(root, chart, 'Chart.yaml'))).toBe(true);
    expect(deploy).toMatch(/--wait --atomic/);
  });

  it('builds an image for every service and chaosctl from Dockerfiles that exist', () => {
    const build = readFileSync(join(root, 'ci/build-images.sh'), 'utf8');
    for (const dockerfile of build.matchAll(/-f (docker\/[\w.-]+)/g)) {
      expect(existsSync(join(root, dockerfile[1] as string))).toBe(true);
    }
    expect(build).toMatch(/for service in order-service inventory-service notification-service/);
  });
});
