/** Reconnection delays: exponential backoff with jitter. */

/** Backoff settings. */
export interface BackoffOptions {
  /** Delay before the first retry, before jitter (default 500 ms). */
  initialMs?: number;
  /** Upper bound of any delay (default 30 s). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Share of the delay that is randomised, 0..1 (default 0.5: between half and all of it). */
  jitter?: number;
}

/**
 * The delay before retry number `attempt` (0 for the first): `initial * factor^attempt`,
 * capped at `max`, of which the `jitter` share is drawn at random so that clients that lost
 * their connection together do not come back together.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const { initialMs = 500, maxMs = 30_000, factor = 2, jitter = 0.5 } = options;
  const base = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  const share = Math.min(1, Math.max(0, jitter));
  return Math.round(base * (1 - share) + base * share * random());
}
