import { afterFailure, RETRY_MARGIN_MS } from './retry';

describe('afterFailure', () => {
  const policy = { maxAttempts: 5, baseMs: 60_000, maxMs: 3_600_000 };
  const now = new Date('2026-12-01T23:00:00Z');
  const farAway = new Date('2026-12-10T00:00:00Z');

  it('doubles the delay per attempt, with jitter between half and all of it', () => {
    const delays = [1, 2, 3, 4].map((attempts) =>
      [0, 0.999999].map((r) => {
        const d = afterFailure(policy, attempts, now, farAway, () => r);
        if (d.status !== 'failed') throw new Error('expected a retry');
        return d.nextAttemptAt.getTime() - now.getTime();
      }),
    );
    expect(delays.map(([low]) => low)).toEqual([30_000, 60_000, 120_000, 240_000]);
    for (const [i, [, high]] of delays.entries()) expect(high).toBeCloseTo(60_000 * 2 ** i, -1);
  });

  it('never waits longer than the maximum delay', () => {
    const d = afterFailure({ ...policy, maxAttempts: 50 }, 30, now, farAway, () => 1);
    expect(d).toEqual({ status: 'failed', nextAttemptAt: new Date(now.getTime() + 3_600_000) });
  });

  it('is dead once the attempts are used up', () => {
    expect(afterFailure(policy, 5, now, farAway)).toEqual({ status: 'dead', reason: 'gave up after 5 attempts' });
  });

  it('moves the retry before the deletion it warns about', () => {
    const cleanupAt = new Date(now.getTime() + 10 * 60_000);
    const d = afterFailure({ ...policy, baseMs: 3_600_000 }, 1, now, cleanupAt, () => 1);
    expect(d).toEqual({ status: 'failed', nextAttemptAt: new Date(cleanupAt.getTime() - RETRY_MARGIN_MS) });
  });

  it('is dead when no retry fits before the deletion', () => {
    const cleanupAt = new Date(now.getTime() + RETRY_MARGIN_MS);
    expect(afterFailure(policy, 1, now, cleanupAt)).toEqual({
      status: 'dead',
      reason: 'no retry fits before the deletion at 2026-12-01T23:01:00.000Z',
    });
  });
});
