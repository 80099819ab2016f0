// What can be checked without building: that ci/build-images.sh builds every service and chaosctl
// from docker/Dockerfile, and that the Dockerfile keeps the shape that makes the images lean and
// the builds share one install. `npm run test:images` builds and runs the images themselves.
import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

const root = resolve(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface Stage {
  from: string;
  name: string;
  instructions: string[];
}

// One entry per FROM, with the stage's instructions (continuation lines joined, comments dropped).
function stages(dockerfile: string): Stage[] {
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const found: Stage[] = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) found.push({ from: from[1] as string, name: from[2] ?? '', instructions: [] });
    else found.at(-1)?.instructions.push(line);
  }
  return found;
}

const dockerfile = read('docker/Dockerfile');
const all = stages(dockerfile);
const stage = (name: string) => {
  const found = all.find((s) => s.name === name);
  if (!found) throw new Error(`docker/Dockerfile has no stage ${name}`);
  return found;
};
const build = read('ci/build-images.sh');

describe('ci/build-images.sh', () => {
  it('builds every service under apps/ and chaosctl, each from its target of docker/Dockerfile', () => {
    const services = /for service in ([\w\s-]+); do/.exec(build)?.[1]?.trim().split(/\s+/);
    expect(services?.sort()).toEqual(readdirSync(join(root, 'apps')).sort());
    expect(build).toMatch(/build "\$service" --target service --build-arg SERVICE="\$service"/);
    expect(build).toMatch(/build chaosctl --target chaosctl/);
    expect(build).toContain('-f docker/Dockerfile');
    expect(all.map((s) => s.name)).toEqual(expect.arrayContaining(['service', 'chaosctl']));
  });

  it.each([
    ['ci/build-images.sh', 'bash'],
    ['docker/prod-closure.sh', 'sh'],
  ])('%s is executable and parses with %s', async (script, shell) => {
    accessSync(join(root, script), constants.X_OK);
    await promisify(execFile)(shell, ['-n', join(root, script)]);
  });
});

describe('docker/Dockerfile', () => {
  it('installs and compiles once, in stages no build argument reaches, so the four builds share them', () => {
    for (const name of ['manifests', 'workspace']) {
      expect(stage(name).instructions.filter((line) => /^ARG\b/i.test(line))).toEqual([]);
    }
    expect(stage('workspace').instructions).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^RUN npm ci\b/),
        expect.stringMatching(/^RUN .*npm run build$/),
      ]),
    );
    expect(stage('service-closure').from).toBe('workspace');
    expect(stage('chaosctl-closure').from).toBe('workspace');
  });

  it.each([
    // Each also gets its bundle from the workspace, and runs that.
    [
      'service',
      'service-closure',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's build argument, as written there
      ['COPY --from=workspace /src/apps/${SERVICE}/bundle/ /app/apps/${SERVICE}/bundle/'],
      ['node', 'bundle/main.mjs'],
    ],
    [
      'chaosctl',
      'chaosctl-closure',
      ['COPY --from=workspace /src/cli/bundle/ /app/cli/bundle/'],
      ['node', 'bundle/cli.js'],
    ],
  ])(
    'the %s image is the base image plus its closure, run by node as the node user',
    (target, closure, more, command) => {
      const { from, instructions } = stage(target);
      // The base image the build starts from, not the workspace with its dev dependencies.
      expect(from).toBe(stage('manifests').from);
      const copies = instructions.filter((line) => /^COPY\b/i.test(line));
      expect(copies).toEqual([`COPY --from=${closure} /closure/ /app/`, ...more]);
      expect(instructions).toContain('USER node');
      // Exec form with node first: node is PID 1 and gets SIGTERM itself.
      const start = instructions.find((line) => /^(ENTRYPOINT|CMD)\b/.test(line)) ?? '';
      expect(JSON.parse(start.replace(/^\w+\s+/, ''))).toEqual(command);
    },
  );

  it('has no HEALTHCHECK: Kubernetes probes /healthz and /readyz', () => {
    expect(dockerfile).not.toMatch(/^HEALTHCHECK/im);
  });

  it("keeps the host's node_modules and dist out of the build context", () => {
    const ignored = read('.dockerignore').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '**/bundle']));
  });
});
