export type UnavailableReason = 'circuit-open' | 'timeout' | 'connection' | 'server-error';

/** A downstream could not answer: the caller degrades (503, outbox) instead of hanging. */
export class DownstreamUnavailableError extends Error {
  override name = 'DownstreamUnavailableError';
  constructor(
    readonly downstream: string,
    readonly reason: UnavailableReason,
    /** When a retry may succeed: the breaker's remaining open time, or 1 s. */
    readonly retryAfterSeconds = 1,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(`${downstream} unavailable: ${reason}${status ? ` (${status})` : ''}`, options);
  }
}
