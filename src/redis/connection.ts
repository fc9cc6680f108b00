import calculateSlot from "cluster-key-slot";
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";

/** A single Redis (or a primary with replicas behind one address) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * Where Redis is: one URL, or the seed nodes of a Redis Cluster (the client discovers the
 * rest from them). Built from config by `redisTarget`.
 */
export type RedisTarget = { url: string; clusterNodes?: undefined } | { clusterNodes: readonly string[]; url?: undefined };

/** REDIS_CLUSTER_NODES, when set, names a cluster; otherwise REDIS_URL names one Redis. */
export function redisTarget(config: { REDIS_URL: string; REDIS_CLUSTER_NODES?: readonly string[] }): RedisTarget {
  const nodes = config.REDIS_CLUSTER_NODES ?? [];
  return nodes.length > 0 ? { clusterNodes: nodes } : { url: config.REDIS_URL };
}

/**
 * Producers (the web receiver, the relay, the dlq tool) must fail fast when Redis is down so
 * the caller can answer 503 or keep the SQS message; workers must reconnect forever.
 */
export type RedisRole = "producer" | "worker";

export interface ConnectionTuning {
  /** Producers: the commands of one event-loop turn leave in one socket write (see coalesceWrites). Default on. */
  coalesceWrites?: boolean;
}

export function createRedis(url: string, role: RedisRole, extra: RedisOptions = {}, tuning: ConnectionTuning = {}): Redis {
  const redis = new Redis(url, { ...roleOptions(role), ...extra });
  if (role === "producer" && tuning.coalesceWrites !== false) coalesceWrites(redis);
  return redis;
}

const COALESCED = Symbol("hookrail.coalescedWrites");

/**
 * Cork the connection's socket at its first write of an event-loop turn and uncork it in
 * that turn's check phase (setImmediate), so every command sent meanwhile (a request's
 * EXISTS and add, and those of the other requests read in the same turn) leaves in one
 * write. ioredis writes each command to the socket at once: two loopback `write` syscalls
 * per webhook, which cost more CPU in the web process than BullMQ's add itself (profile in
 * BENCHMARKS.md, "Receiver cost"). Unlike ioredis's auto-pipelining this builds no
 * Pipeline, so BullMQ's dozens of script commands are not copied per batch. The delay is
 * at most what is left of the turn the command was sent in.
 */
export function coalesceWrites(redis: Redis): void {
  const patch = () => {
    const stream = redis.stream as (typeof redis.stream & { [COALESCED]?: true }) | undefined;
    if (!stream || stream[COALESCED]) return;
    stream[COALESCED] = true;
    const write = stream.write;
    let corked = false;
    const release = () => {
      corked = false;
      stream.uncork();
    };
    stream.write = function (this: typeof stream, ...args: Parameters<typeof write>) {
      if (!corked) {
        corked = true;
        this.cork();
        setImmediate(release);
      }
      return write.apply(this, args);
    } as typeof write;
  };
  // A reconnect brings a new socket; "connect" fires before the ready check is sent.
  redis.on("connect", patch);
  patch();
}

function roleOptions(role: RedisRole): RedisOptions {
  const common: RedisOptions = { lazyConnect: false, connectionName: `hookrail-${role}` };
  const byRole: RedisOptions =
    role === "producer"
      ? {
          // Commands issued while disconnected fail at once instead of queueing.
          enableOfflineQueue: false,
          // No auto-pipelining: ioredis builds a Pipeline per batch and copies every defined
          // script command (BullMQ defines dozens) onto it, which costs more than the writes it
          // saves (measured in BENCHMARKS.md, "Receiver"). ioredis sends a command without
          // waiting for the previous reply either way, so one caller's commands still share
          // one round trip.
          enableAutoPipelining: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          retryStrategy: (times) => Math.min(times * 200, 2_000),
        }
      : {
          // BullMQ workers require this: blocking commands must not be retried by ioredis.
          maxRetriesPerRequest: null,
          retryStrategy: (times) => Math.min(times * 500, 5_000),
        };
  return { ...common, ...byRole };
}

/**
 * THE way hookrail connects to Redis: one node for a URL, an ioredis Cluster for cluster
 * nodes. Every process and tool builds its connections here, so a cluster needs no code of
 * its own elsewhere; the queue keys that must share a slot are arranged by the queue set
 * (see queues/keyspace.ts).
 */
export function connectRedis(target: RedisTarget, role: RedisRole): RedisClient {
  if (target.url !== undefined) return createRedis(target.url, role);
  return createCluster(target.clusterNodes, role);
}

/**
 * A cluster client from seed nodes: `host:port` or `redis://` / `rediss://` URLs. The first
 * URL's username, password and TLS apply to every node (a cluster shares them; ElastiCache
 * and MemoryDB need `rediss://` and one auth token).
 */
export function createCluster(seeds: readonly string[], role: RedisRole, extra: ClusterOptions = {}): Cluster {
  const urls = seeds.map((s) => new URL(/^[a-z]+:\/\//i.test(s) ? s : `redis://${s}`));
  const first = urls[0];
  if (!first) throw new Error("a Redis Cluster needs at least one seed node");
  const auth: RedisOptions = {
    ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
    ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
    ...(first.protocol === "rediss:" ? { tls: {} } : {}),
  };
  const { retryStrategy, enableOfflineQueue, lazyConnect, enableAutoPipelining, ...perNode } = roleOptions(role);
  const options: ClusterOptions = {
    lazyConnect,
    enableAutoPipelining,
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    clusterRetryStrategy: retryStrategy ? (times) => retryStrategy(times) : undefined,
    // A failover makes the old master's slots answer with errors or MOVED until the replica
    // takes over; commands are retried after this pause (ioredis's default is 100 ms).
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    // A node of the cluster's own address list is reached under that address: with TLS the
    // certificate names the address, not the IP it resolves to.
    ...(auth.tls ? { dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address) } : {}),
    ...extra,
    redisOptions: { ...perNode, ...auth, ...extra.redisOptions },
  };
  const cluster = new Cluster(
    urls.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    options,
  );
  if (role === "producer") cluster.on("+node", (node: Redis) => coalesceWrites(node));
  return cluster;
}

export const isCluster = (client: RedisClient): client is Cluster => client.isCluster;

/**
 * The node connections of a client: itself for one Redis; for a cluster, the masters, or
 * every node with `"all"` (a replica becomes a master at failover, so settings that matter
 * then are checked on replicas too).
 */
export async function redisNodes(client: RedisClient, which: "master" | "all" = "master"): Promise<Redis[]> {
  if (!isCluster(client)) return [client];
  if (client.status !== "ready") await waitReady(client);
  return client.nodes(which);
}

/**
 * The connection of the node that holds `key`'s slot (the client itself for one Redis). A
 * command that must see what this client wrote under that key (WAIT) goes there: on a
 * cluster the client has one connection per node, and commands for a slot travel on its
 * master's connection.
 */
export function nodeForKey(client: RedisClient, key: string): Redis {
  if (!isCluster(client)) return client;
  const nodeKey = client.slots[calculateSlot(key)]?.[0];
  const node = nodeKey ? client.nodes("master").find((n) => `${n.options.host}:${n.options.port}` === nodeKey) : undefined;
  if (!node) throw new Error(`no Redis Cluster master holds the slot of ${key} right now`);
  return node;
}

/** PING every master: a cluster is usable only if each shard answers. */
export async function pingAll(client: RedisClient): Promise<void> {
  await Promise.all((await redisNodes(client, "master")).map((n) => n.ping()));
}

export class RedisPolicyError extends Error {
  constructor(policy: string, node?: string) {
    super(
      `Redis${node ? ` node ${node}` : ""} maxmemory-policy is "${policy}", but hookrail needs "noeviction": under any eviction ` +
        `policy Redis silently deletes BullMQ keys when memory runs short, and jobs are lost. ` +
        `Set "maxmemory-policy noeviction" in redis.conf (or CONFIG SET maxmemory-policy noeviction).`,
    );
    this.name = "RedisPolicyError";
  }
}

/**
 * Refuse to run on an evicting Redis: on a cluster, on any node (each master evicts its own
 * keys, and a replica with another policy evicts once it is promoted). INFO works where
 * CONFIG is disabled (managed Redis).
 */
export async function assertNoEviction(client: RedisClient): Promise<void> {
  for (const node of await redisNodes(client, "all")) {
    const info = await node.info("memory");
    const match = /^maxmemory_policy:(\S+)/m.exec(info);
    const policy = match?.[1] ?? "unknown";
    if (policy !== "noeviction") throw new RedisPolicyError(policy, isCluster(client) ? `${node.options.host}:${node.options.port}` : undefined);
  }
}

/** Resolve once the client is ready, or reject after `timeoutMs`. */
export function waitReady(redis: RedisClient, timeoutMs = 5_000): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off("ready", onReady);
    };
    redis.on("ready", onReady);
  });
}
