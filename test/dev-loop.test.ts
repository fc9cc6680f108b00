import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { freePort, startAnvil } from "../src/chain/anvil.js";
import { loadConfig } from "../src/config/index.js";
import { SIMULATED_EVENTS } from "../src/dev/simulator/catalog.js";
import { ROOT } from "./helpers/process.js";

describe("dev loop", () => {
  it("the local chain starts on the port asked for, and refuses a port already taken instead of answering from someone else's node", async () => {
    const port = await freePort();
    const anvil = await startAnvil({ port });
    try {
      expect(anvil.url).toBe(`http://127.0.0.1:${port}`);
      const res = await fetch(anvil.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
      });
      expect(((await res.json()) as { result: string }).result).toBe("0x7a69");
      await expect(startAnvil({ port })).rejects.toThrow(`port ${port} is already in use`);
    } finally {
      await anvil.stop();
    }
  });

  it("DEV_CHAIN_PORT is 8545 unless set (0 = any free port) and is checked like every setting", () => {
    expect(loadConfig({}).DEV_CHAIN_PORT).toBe(8545);
    expect(loadConfig({ DEV_CHAIN_PORT: "0" }).DEV_CHAIN_PORT).toBe(0);
    expect(() => loadConfig({ DEV_CHAIN_PORT: "70000" })).toThrow(/DEV_CHAIN_PORT: expected an integer from 0 to 65535/);
  });

  it("the dev entry points run from the sources, with no build (npm run dev and simulate use tsx)", async () => {
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [`${ROOT}node_modules/tsx/dist/cli.mjs`, "src/bin/simulate.ts", "--list"], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
      });
      let stdout = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.on("close", (code) => resolve({ code, stdout }));
    });
    expect(out.code).toBe(0);
    expect(out.stdout.trim().split("\n")).toHaveLength(SIMULATED_EVENTS.length);
  });
});
