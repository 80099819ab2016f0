import { describe, expect, it } from '@jest/globals';
import { cpuCores, cpuEffect } from './cgroup-cpu.js';

describe('cpuCores', () => {
  it('reads Kubernetes CPU quantities in CPUs', () => {
    expect(cpuCores('500m')).toBe(0.5);
    expect(cpuCores('2')).toBe(2);
    expect(cpuCores('1.5')).toBe(1.5);
    expect(cpuCores(undefined)).toBeUndefined();
    expect(cpuCores('1Gi')).toBeUndefined();
  });
});

describe('cpuEffect', () => {
  const sample = (at: number, usageUs: number, throttledUs: number) => ({ at, usageUs, throttledUs });

  it('lands on a container that used its whole CPU limit though a busy node left it unthrottled', () => {
    // 2 s of wall time, 0.8 s of CPU under a 500m limit: 80% of the limit, throttled 4%.
    const effect = cpuEffect(
      [{ pod: 'a', before: sample(0, 0, 0), after: sample(2000, 800_000, 80_000), limitCores: 0.5 }],
      true,
    );
    expect(effect).toEqual({
      landed: true,
      evidence: 'a: used 80% of its CPU limit, throttled 4%, stalled n/a of the time',
    });
  });

  it('does not land when the container neither filled its limit nor was throttled', () => {
    const effect = cpuEffect(
      [{ pod: 'a', before: sample(0, 0, 0), after: sample(2000, 300_000, 20_000), limitCores: 0.5 }],
      true,
    );
    expect(effect.landed).toBe(false);
    expect(effect.evidence).toBe('a: used 30% of its CPU limit, throttled 1%, stalled n/a of the time');
  });
});
