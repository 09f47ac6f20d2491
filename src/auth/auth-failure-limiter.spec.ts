import { AuthFailureLimiter } from './auth-failure-limiter';

describe('AuthFailureLimiter', () => {
  let now = 0;
  const limiter = () => new AuthFailureLimiter(3, 60_000, () => now);

  beforeEach(() => {
    now = 1_000_000;
  });

  it('blocks a client once it reaches the limit, until its window ends', () => {
    const l = limiter();
    for (let i = 0; i < 2; i++) l.recordFailure('a');
    expect(l.retryAfterSeconds('a')).toBe(0);
    l.recordFailure('a');
    expect(l.retryAfterSeconds('a')).toBe(60);
    now += 59_001;
    expect(l.retryAfterSeconds('a')).toBe(1);
    now += 1_000;
    expect(l.retryAfterSeconds('a')).toBe(0);
  });

  it('says whether it tracks any client (the guard asks for the client address only then)', () => {
    const l = limiter();
    expect(l.tracking).toBe(false);
    l.recordFailure('a');
    expect(l.tracking).toBe(true);
    now += 60_000;
    expect(l.retryAfterSeconds('a')).toBe(0);
    expect(l.tracking).toBe(false);
  });

  it('counts each client separately', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) l.recordFailure('a');
    expect(l.retryAfterSeconds('b')).toBe(0);
  });

  it('starts a fresh window after the old one ends', () => {
    const l = limiter();
    l.recordFailure('a');
    l.recordFailure('a');
    now += 60_000;
    l.recordFailure('a');
    expect(l.retryAfterSeconds('a')).toBe(0);
  });

  it('stays bounded under failures from very many addresses', () => {
    const l = new AuthFailureLimiter(3, 60_000, () => now);
    for (let i = 0; i < 150_000; i++) l.recordFailure(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    // 150,000 distinct failing clients inside one window: memory stays bounded.
    expect((l as unknown as { failures: Map<string, unknown> }).failures.size).toBeLessThanOrEqual(100_000);
    // The newest clients are still tracked.
    for (let k = 0; k < 2; k++) l.recordFailure('10.2.73.239');
    expect(l.retryAfterSeconds('10.2.73.239')).toBe(60);
  });
});
