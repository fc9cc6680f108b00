// Dev-only: for `npm run dev`, tests and benchmarks; no production process loads src/dev (scripts/check-layers.mjs).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface EmbeddedRedis {
  url: string;
  port: number;
  /** Data directory (AOF / RDB files live here). */
  dir: string;
  /** Stop the server and delete its directory. */
  stop(): Promise<void>;
  /** Kill the server (SIGKILL = a crash, SIGTERM = a clean shutdown) and keep its data directory. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same port and data directory (after `kill`), e.g. to show what persistence keeps. */
  restart(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** True when something on host:port answers a Redis PING with PONG. */
export function redisAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

export class RedisServerMissingError extends Error {
  constructor() {
    super(
      "redis-server is not on PATH and no Redis answers on 127.0.0.1:6379. Install Redis " +
        "(Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`) or set REDIS_URL.",
    );
  }
}

/**
 * Start a throwaway redis-server from PATH on a free port, in a temp dir, with the settings
 * hookrail requires (noeviction). `extraArgs` lets tests ask for other settings.
 */
export async function startRedisServer(extraArgs: string[] = []): Promise<EmbeddedRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "hookrail-redis-"));
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "no",
    "--maxmemory-policy",
    "noeviction",
    ...extraArgs,
  ];
  let child = await launch(args, port);
  const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill(signal);
      await exited;
    }
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    kill,
    restart: async () => {
      await kill("SIGTERM");
      child = await launch(args, port);
    },
    stop: async () => {
      await kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Spawn redis-server and resolve once it answers PING (it has loaded its data by then). */
async function launch(args: string[], port: number): Promise<ChildProcess> {
  const child: ChildProcess = spawn("redis-server", args, { stdio: "ignore" });
  await new Promise<void>((resolve, reject) => {
    child.once("error", (err: NodeJS.ErrnoException) => reject(err.code === "ENOENT" ? new RedisServerMissingError() : err));
    const deadline = Date.now() + 10_000;
    const poll = async () => {
      if (await redisAnswers("127.0.0.1", port)) return resolve();
      if (child.exitCode !== null) return reject(new Error(`redis-server exited with code ${child.exitCode}`));
      if (Date.now() > deadline) return reject(new Error("redis-server did not start within 10 s"));
      setTimeout(poll, 50);
    };
    void poll();
  });
  return child;
}
