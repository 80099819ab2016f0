// Attribution and recovery phases on synthetic timelines: every figure here is known in advance.
import { describe, expect, it } from '@jest/globals';
import type { Sample } from '../traffic/load.js';
import { attribute, phases } from './recovery.js';

const T0 = 1_000_000;
/** A request due at `due` ms after T0 that took `latency` ms and ended with `status`. */
const req = (due: number, latency: number, status = 201): Sample => ({
  dueAt: T0 + due,
  completedAt: T0 + due + latency,
  latencyMs: latency,
  lagMs: 0,
  status,
  attempts: 1,
  request: 0,
  ok: status === 201,
});

/** Steady traffic every 50 ms from `from` to `to` at `latency` ms. */
const steady = (from: number, to: number, latency = 10) =>
  Array.from({ length: Math.floor((to - from) / 50) }, (_, i) => req(from + i * 50, latency));

describe('attribution: what the fault touched', () => {
  it('counts a request in flight at injection in the fault window, although it was due before', () => {
    // Due 20 ms before the kill, it died with the replica 30 ms after it.
    const inFlight = req(980, 50, 502);
    const windows = attribute([...steady(0, 1000), inFlight, ...steady(1000, 3000)], T0 + 1000, T0 + 2000);
    expect(windows.before.every((s) => s.status === 201)).toBe(true);
    expect(windows.during).toContain(inFlight);
    expect(windows.before).toHaveLength(20);
    expect(windows.during.filter((s) => s.dueAt >= T0 + 1000)).toHaveLength(20);
    expect(windows.after).toHaveLength(20);
  });

  it('leaves a quiet baseline with no failure in it', () => {
    const windows = attribute([...steady(0, 1000), req(990, 40, 0)], T0 + 1000, T0 + 1500);
    expect(windows.before.filter((s) => s.status !== 201)).toEqual([]);
  });
});

describe('recovery phases', () => {
  it('a disruption: first failure, last failure and user-facing recovery from the kill; milestones as observed', () => {
    const samples = [
      ...steady(0, 1000),
      req(1000, 30, 502), // fails at +30
      req(1100, 400, 503), // fails at +500
      ...steady(1200, 4000),
    ];
    const p = phases('disruption', samples, T0 + 1000, T0 + 1000, {
      terminatedAt: T0 + 7000,
      capacityRestoredAt: T0 + 2500,
    });
    expect(p).toMatchObject({
      faultEndedMs: 0,
      firstFailureMs: 30,
      errorsEndedMs: 500,
      userFacingMs: 500,
      capacityRestoredMs: 1500,
      terminatedMs: 6000,
    });
  });

  it('a disruption nobody noticed recovers for users at once', () => {
    const p = phases('disruption', steady(0, 4000), T0 + 1000, T0 + 1000, { capacityRestoredAt: T0 + 1800 });
    expect(p).toMatchObject({
      firstFailureMs: null,
      errorsEndedMs: null,
      userFacingMs: 0,
      latencyNormalMs: 0,
    });
  });

  it('a timed fault is over for users when latency is back in its band after removal', () => {
    const samples = [
      ...steady(0, 1000, 10),
      ...steady(1000, 3000, 300), // delayed while the fault is on (removed at +2000)
      ...steady(3000, 3500, 200), // still slow for half a second after removal
      ...steady(3500, 6000, 12),
    ];
    const p = phases('timed', samples, T0 + 1000, T0 + 3000, {});
    expect(p.faultEndedMs).toBe(2000);
    expect(p.latencyNormalMs).toBe(2500);
    expect(p.userFacingMs).toBe(2500);
    expect(p.firstFailureMs).toBeNull();
  });

  it('a timed fault whose latency never comes back has no user-facing recovery', () => {
    const samples = [...steady(0, 1000, 10), ...steady(1000, 4000, 300)];
    expect(phases('timed', samples, T0 + 1000, T0 + 2000, {}).userFacingMs).toBeNull();
  });
});
