/**
 * The BullMQ prefix of a queue's keys (its dead-letter queue uses its owner's).
 *
 * On one Redis every queue shares the plain prefix (`hookrail:<queue>:…`, the layout of
 * existing deployments). On a Redis Cluster BullMQ's Lua scripts touch many keys of a queue
 * at once, and a script may only touch keys of one hash slot; so each queue gets a hash tag
 * of its own, `{hookrail:<queue>}`: every key of the queue and of its dead letters (and the
 * relay's sequencing keys, which its script checks beside the broker-events jobs) shares one
 * slot, and different queues land on different slots, spread over the masters. Every queue
 * built by the queue set or the worker host gets this, so a queue added with `defineQueue`
 * needs nothing more to run on a cluster.
 */
export function queuePrefix(base: string, queue: string, cluster: boolean): string {
  return cluster ? `{${base}:${queue}}` : base;
}
