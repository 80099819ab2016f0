// Exit codes chaosctl promises: 0 every threshold met, 1 a threshold failed or a fault did not
// land, 2 bad usage or configuration, 3 the target could not be reached.
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
}

export class UnreachableError extends Error {
  readonly exitCode = EXIT.unreachable;
}
