import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** Run a built entry point (or a plain-JS fixture) as a real child process. */
export function spawnNode(script: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Spawned {
  const child = spawn(process.execPath, [script, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d.toString()));
  child.stderr!.on("data", (d) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput: (pattern, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const poll = () => {
          if (pattern.test(out) || pattern.test(err)) return resolve();
          if (child.exitCode !== null) return reject(new Error(`process exited (${child.exitCode}) before ${pattern}: ${err}${out}`));
          if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${pattern}: ${err}${out}`));
          setTimeout(poll, 25);
        };
        poll();
      }),
  };
}
