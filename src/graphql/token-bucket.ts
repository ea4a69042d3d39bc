/** A bucket's answer to "may this request spend `cost` tokens now?". */
export interface TakeResult {
  allowed: boolean;
  /** When refused: milliseconds until `cost` tokens will be available (never more than a full refill). */
  retryAfterMs: number;
}

export interface BucketState {
  tokens: number;
  updatedAt: number;
}

/**
 * One token-bucket step, shared by the in-process limiter and mirrored by the Redis script: refill by elapsed
 * time, then take `cost` tokens or nothing. A request is refused whole; it never spends part of the bucket.
 */
export function takeTokens(state: BucketState | undefined, capacity: number, perMs: number, cost: number, now: number): [BucketState, TakeResult] {
  const elapsed = state ? Math.max(0, now - state.updatedAt) : 0;
  const tokens = Math.min(capacity, (state?.tokens ?? capacity) + elapsed * perMs);
  if (tokens >= cost) return [{ tokens: tokens - cost, updatedAt: now }, { allowed: true, retryAfterMs: 0 }];
  // More than the bucket holds can never be afforded: wait for a full bucket, then the client must send less.
  const missing = Math.min(cost, capacity) - tokens;
  return [{ tokens, updatedAt: now }, { allowed: false, retryAfterMs: Math.ceil(missing / perMs) }];
}

/** The same step, atomically in Redis (EVALSHA through ioredis' defineCommand); the clock is Redis's. */
export const TAKE_TOKENS_LUA = `
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(stored[1])
local ts = tonumber(stored[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * perMs)
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((math.min(cost, capacity) - tokens) / perMs)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / perMs) + 1000)
return { allowed, wait }
`;
