/** A retry must be due at least this long before the deletion it warns about, or it is pointless. */
export const RETRY_MARGIN_MS = 60_000;

export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

export type RetryDecision = { status: 'failed'; nextAttemptAt: Date } | { status: 'dead'; reason: string };

/**
 * What happens to a notice after its `attempts`-th failed delivery at `now`: another try after an
 * exponential delay with jitter (half fixed, half random, so replicas that failed together spread
 * out), capped so the retry still comes before the deletion at `cleanupAt`; or dead when the
 * attempts are used up or no retry fits before the deletion.
 */
export function afterFailure(
  policy: RetryPolicy,
  attempts: number,
  now: Date,
  cleanupAt: Date,
  random: () => number = Math.random,
): RetryDecision {
  if (attempts >= policy.maxAttempts) return { status: 'dead', reason: `gave up after ${attempts} attempts` };
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  const delay = exponential / 2 + random() * (exponential / 2);
  const latest = cleanupAt.getTime() - RETRY_MARGIN_MS;
  if (latest <= now.getTime()) {
    return { status: 'dead', reason: `no retry fits before the deletion at ${cleanupAt.toISOString()}` };
  }
  return { status: 'failed', nextAttemptAt: new Date(Math.min(now.getTime() + Math.max(1, Math.round(delay)), latest)) };
}
