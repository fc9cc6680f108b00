import { Redis } from "ioredis";
import { freePort, startRedisServer, type EmbeddedRedis } from "../../src/dev/embedded-redis.js";
import { waitFor } from "./env.js";

/** A throwaway local Redis Cluster: real redis-server processes, each in a temp dir of its own. */
export interface TestCluster {
  /** Every node, masters first as created (the replicas follow). */
  nodes: EmbeddedRedis[];
  /** `host:port` seeds for REDIS_CLUSTER_NODES. */
  seeds: string[];
  /** The ports of the current masters that own slots, with their slot ranges. */
  masters(): Promise<{ port: number; id: string; slots: [number, number][] }[]>;
  /** The port of the master that holds `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** SIGKILL a node (a crash); its replica takes over after the node timeout. */
  kill(port: number): Promise<void>;
  /** Start a killed node again on its port and directory: it rejoins, as a replica if it was replaced. */
  restart(port: number): Promise<void>;
  /** A plain connection to one node (for CLUSTER / INFO / CONFIG); the caller disconnects it. */
  admin(port: number): Redis;
  /** Wait until every live node reports cluster_state:ok and each master has a replica in sync. */
  waitHealthy(opts?: { replicas?: boolean; timeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Start `masters` masters with `replicasPerMaster` replicas each (`redis-cli --cluster create`),
 * with a short node timeout so a killed master fails over within a few seconds. Ports (and the
 * cluster bus ports) are free ones, asked of the kernel.
 */
export async function startRedisCluster(opts: { masters?: number; replicasPerMaster?: number; nodeTimeoutMs?: number } = {}): Promise<TestCluster> {
  const masters = opts.masters ?? 3;
  const perMaster = opts.replicasPerMaster ?? 1;
  const count = masters * (1 + perMaster);
  const nodes: EmbeddedRedis[] = [];
  const dead = new Set<number>();
  try {
    for (let i = 0; i < count; i++) {
      nodes.push(
        await startRedisServer([
          "--cluster-enabled",
          "yes",
          "--cluster-port",
          String(await freePort()),
          "--cluster-node-timeout",
          String(opts.nodeTimeoutMs ?? 1_000),
          // A replica that lost its master a moment ago may take over whatever its data's age.
          "--cluster-replica-validity-factor",
          "0",
        ]),
      );
    }
    const seeds = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run("redis-cli", ["--cluster", "create", ...seeds, "--cluster-replicas", String(perMaster), "--cluster-yes"]);
    const admin = (port: number) => new Redis({ host: "127.0.0.1", port, lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
    const live = () => nodes.filter((n) => !dead.has(n.port));
    const withAdmin = async <T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> => {
      const r = admin(port);
      r.on("error", () => {});
      try {
        return await fn(r);
      } finally {
        r.disconnect();
      }
    };
    const masterList = async () => {
      const text = (await withAdmin(live()[0]!.port, (r) => r.call("CLUSTER", "NODES"))) as string;
      return text
        .trim()
        .split("\n")
        .map((line) => line.split(" "))
        .filter((f) => f[2]!.includes("master") && !f[2]!.includes("fail") && f.length > 8)
        .map((f) => ({
          id: f[0]!,
          port: Number(f[1]!.split("@")[0]!.split(":")[1]),
          slots: f.slice(8).map((r) => {
            const [a, b] = r.split("-");
            return [Number(a), Number(b ?? a)] as [number, number];
          }),
        }));
    };
    const cluster: TestCluster = {
      nodes,
      seeds,
      masters: masterList,
      admin,
      masterOf: async (key) => {
        const slot = Number(await withAdmin(live()[0]!.port, (r) => r.call("CLUSTER", "KEYSLOT", key)));
        const owner = (await masterList()).find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
        if (!owner) throw new Error(`no master holds slot ${slot}`);
        return owner.port;
      },
      kill: async (port) => {
        const node = nodes.find((n) => n.port === port);
        if (!node) throw new Error(`no node on ${port}`);
        dead.add(port);
        await node.kill("SIGKILL");
      },
      restart: async (port) => {
        const node = nodes.find((n) => n.port === port);
        if (!node) throw new Error(`no node on ${port}`);
        await node.restart();
        dead.delete(port);
      },
      waitHealthy: async (o = {}) => {
        await waitFor(
          async () => {
            for (const n of live()) {
              const ok = await withAdmin(n.port, async (r) => {
                const info = (await r.call("CLUSTER", "INFO")) as string;
                if (!/^cluster_state:ok/m.test(info)) return false;
                if (o.replicas === false) return true;
                const repl = await r.info("replication");
                // A master needs a replica online; a replica needs its link to the master up.
                if (/^role:master/m.test(repl)) return /^slave0:.*state=online/m.test(repl) || !(await ownsSlots(r));
                return /^master_link_status:up/m.test(repl);
              }).catch(() => false);
              if (!ok) return false;
            }
            return true;
          },
          o.timeoutMs ?? 30_000,
          "Redis Cluster healthy",
        );
      },
      stop: async () => {
        await Promise.all(nodes.map((n) => n.stop()));
      },
    };
    await cluster.waitHealthy();
    return cluster;
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
}

async function ownsSlots(r: Redis): Promise<boolean> {
  const myself = ((await r.call("CLUSTER", "NODES")) as string).split("\n").find((l) => l.includes("myself"));
  return (myself?.split(" ").length ?? 0) > 8;
}

async function run(cmd: string, args: string[]): Promise<void> {
  const { spawn } = await import("node:child_process");
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.slice(0, 2).join(" ")} exited ${code}: ${err}`))));
  });
}
