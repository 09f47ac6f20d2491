const SWEEP_FROM = 10_000;
const MAX_CLIENTS = 100_000;

/**
 * Counts failed authentications per client in a fixed window. Once a client reaches the limit it is
 * refused (429) until its window ends, whatever key it presents, so guessing a key costs at most
 * `limit` tries per window. Kept in memory: each replica limits on its own.
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, { count: number; windowEnds: number }>();
  private lastSweep = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether any client has failed within its window (if none has, none is blocked). */
  get tracking(): boolean {
    return this.failures.size > 0;
  }

  /** Seconds until the client may try again, or 0 if it is not blocked. */
  retryAfterSeconds(client: string): number {
    const entry = this.failures.get(client);
    if (!entry) return 0;
    const left = entry.windowEnds - this.now();
    if (left <= 0) {
      this.failures.delete(client);
      return 0;
    }
    return entry.count >= this.limit ? Math.ceil(left / 1000) : 0;
  }

  recordFailure(client: string): void {
    const now = this.now();
    const entry = this.failures.get(client);
    if (!entry || entry.windowEnds <= now) {
      this.failures.set(client, { count: 1, windowEnds: now + this.windowMs });
      this.sweep(now);
    } else {
      entry.count += 1;
    }
  }

  /**
   * Bounds memory and work under a flood from many addresses: expired entries are swept at most
   * once a window (a sweep on every new client would make each failure scan the whole map), and
   * past MAX_CLIENTS the oldest entries go first (a Map iterates in insertion order).
   */
  private sweep(now: number): void {
    if (this.failures.size >= SWEEP_FROM && now - this.lastSweep >= this.windowMs) {
      this.lastSweep = now;
      for (const [client, entry] of this.failures) if (entry.windowEnds <= now) this.failures.delete(client);
    }
    for (const client of this.failures.keys()) {
      if (this.failures.size <= MAX_CLIENTS) break;
      this.failures.delete(client);
    }
  }
}
