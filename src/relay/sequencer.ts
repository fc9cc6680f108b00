import type { RedisClient } from "../redis/connection.js";

/**
 * Gives each broker message a position in its message group, once.
 *
 * The first time a message_id is seen (from either queue) it takes the next number of its
 * group; every later copy (the DR twin, a redelivery after a crash) gets the same number
 * back. Both queues deliver a group in publish order and a batch is claimed in receive
 * order, so the first sighting of each message follows publish order: the numbers are the
 * group's publish order, whichever queue is ahead.
 */
const CLAIM = `
local ttl = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS, 3 do
  local existing = redis.call('GET', KEYS[i])
  if existing then
    out[#out + 1] = tonumber(existing)
    out[#out + 1] = 0
    out[#out + 1] = redis.call('EXISTS', KEYS[i + 2])
  else
    local seq = redis.call('INCR', KEYS[i + 1])
    redis.call('SET', KEYS[i], seq, 'EX', ttl)
    out[#out + 1] = seq
    out[#out + 1] = 1
    out[#out + 1] = 0
  end
end
return out
`;

export interface Claim {
  sequence: number;
  /** False when the message had been claimed before (a duplicate copy or redelivery). */
  fresh: boolean;
  /** For a message claimed before: whether the key its caller named (its job) exists now. */
  jobExists: boolean;
}

export interface Sequencer {
  /** `jobKey` is the Redis key whose presence means the message needs no more work. */
  claim(messages: { messageId: string; groupId: string; jobKey: string }[]): Promise<Claim[]>;
}

/**
 * `prefix` is the broker-events queue's own prefix (QueueSet.prefixOf): the claim script reads
 * its job keys, so on a Redis Cluster the sequencing keys must share that queue's hash slot.
 * `messageTtlSeconds` bounds how long a message_id is remembered; it must outlive the
 * broker's five-day retention. Group counters never expire: a counter that restarted would
 * hand out numbers the group has already used.
 */
export function createSequencer(redis: RedisClient, prefix: string, messageTtlSeconds = 6 * 24 * 60 * 60): Sequencer {
  return {
    async claim(messages) {
      if (messages.length === 0) return [];
      const keys = messages.flatMap((m) => [`${prefix}:relay:msg:${m.messageId.toLowerCase()}`, `${prefix}:relay:seq:${m.groupId}`, m.jobKey]);
      const out = (await redis.eval(CLAIM, keys.length, ...keys, String(messageTtlSeconds))) as number[];
      return messages.map((_, i) => ({ sequence: Number(out[i * 3]), fresh: out[i * 3 + 1] === 1, jobExists: out[i * 3 + 2] === 1 }));
    },
  };
}
