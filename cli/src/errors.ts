// Exit codes chaosctl promises: 0 every threshold met, 1 a threshold failed, a fault did not land
// or a regression against --baseline, 2 bad usage or configuration, 3 the target could not be
// reached, 4 the comparison with --baseline was inconclusive (too few runs, or too noisy to tell),
// 5 an abort condition stopped an experiment (its fault was removed at once).
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, inconclusive: 4, aborted: 5 } as const;

export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
}

export class UnreachableError extends Error {
  readonly exitCode = EXIT.unreachable;
}

/**
 * The environment cannot carry out a fault at all (a node's kernel without the qdisc it needs, say),
 * found before any traffic: the experiment is reported as skipped with this reason, not failed.
 */
export class UnsupportedFaultError extends UsageError {}
