export type UnavailableReason = 'circuit-open' | 'timeout' | 'connection' | 'server-error' | 'overloaded';

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

/** We asked a downstream something it cannot take (a request undici refuses to send): our bug, not its outage. */
export class DownstreamRequestError extends Error {
  override name = 'DownstreamRequestError';
  constructor(
    readonly downstream: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`request to ${downstream} not sent: ${detail}`, options);
  }
}
