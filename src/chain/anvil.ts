import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";

/**
 * Well-known keys of anvil's default mnemonic ("test test ... junk"). Only for local chains:
 * index 0 is the hookrail signer in dev and tests, the last one deploys contracts so the
 * signer's nonces belong to hookrail alone.
 */
export const ANVIL_KEYS = {
  signer: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  deployer: "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
  /** Used by benchmarks to send "raw" mints beside hookrail's signer. */
  spare: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  /** Further hookrail signers (dev and tests with several signers). */
  extraSigners: ["0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a", "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"],
} as const;

export interface Anvil {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface AnvilOptions {
  port?: number;
  chainId?: number;
  /** Seconds between blocks; unset = automine (a block per transaction). */
  blockTime?: number;
  /**
   * Automine plus a block every `blockTime` seconds. Anvil's automine can leave a transaction
   * that arrived before its predecessor sitting in its pool, ready but never mined
   * (foundry-rs/foundry#10122): many senders of one account do exactly that. The interval
   * block picks such a transaction up; a real node promotes it by itself.
   */
  mixedMining?: boolean;
  /** Load the chain from this file at start and write it back at exit (dev mode keeps its chain). */
  stateFile?: string;
}

/** The anvil binary shipped by @foundry-rs/anvil for this platform (no download at run time). */
export function anvilBinary(): string {
  const require = createRequire(import.meta.url);
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const platform = process.platform === "win32" ? "win32" : process.platform;
  const pkg = `@foundry-rs/anvil-${platform}-${arch}`;
  const dir = require.resolve(`${pkg}/package.json`).replace(/package\.json$/, "");
  return `${dir}bin/anvil${process.platform === "win32" ? ".exe" : ""}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function rpcAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/** Fails with a clear message when something already listens on the port (perhaps another anvil, which would answer in its place). */
async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === "EADDRINUSE" ? `port ${port} is already in use: cannot start anvil there` : `port ${port}: ${err.message}`)),
    );
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve()));
  });
}

/** Start anvil on `port` (else a free loopback port) and wait until it answers JSON-RPC. */
export async function startAnvil(opts: AnvilOptions = {}): Promise<Anvil> {
  if (opts.port) await assertPortFree(opts.port);
  const port = opts.port || (await freePort());
  const args = ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(opts.chainId ?? 31337), "--silent"];
  if (opts.blockTime) args.push("--block-time", String(opts.blockTime));
  if (opts.mixedMining) args.push("--mixed-mining", ...(opts.blockTime ? [] : ["--block-time", "1"]));
  if (opts.stateFile) args.push("--state", opts.stateFile, "--state-interval", "5");
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await rpcAnswers(url))) {
    if (child.exitCode !== null) throw new Error(`anvil exited (${child.exitCode}): ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`anvil did not answer on ${url} within 30 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    process: child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGTERM lets anvil write its --state file; SIGKILL if it hangs.
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
