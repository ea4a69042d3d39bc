// Refills add fractions of a token; their rounding must not leave 0.9999999 where a whole token is due.
const WHOLE = 1 - 1e-9;

/**
 * A token bucket on a clock the caller passes in (milliseconds): `burst` tokens to start with, refilled at
 * `ratePerSecond` up to `burst` again. No timers of its own, so it is exact under a fake clock.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes one token if one is there at `now`; false leaves the bucket as it was. */
  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens < WHOLE) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds from `now` until a token is there (0: one is there now). */
  msUntilToken(now: number): number {
    this.refill(now);
    return this.tokens >= WHOLE ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }

  /** Whether it has refilled completely: it then holds nothing a new bucket would not, and may be forgotten. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    // A clock that steps back refills nothing rather than draining the bucket.
    if (now > this.at) this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.ratePerSecond) / 1000);
    this.at = Math.max(this.at, now);
  }
}
