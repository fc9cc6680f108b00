import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ONFIDO_EXAMPLE_CHECK, SIMULATED_EVENTS } from "../src/dev/simulator/catalog.js";
import { EMULATOR_CREDENTIALS, startSqsEmulator, type SqsEmulator } from "../src/dev/sqs-emulator.js";
import { onfidoCheck, startOnfidoStub, type OnfidoStub } from "../src/dev/stubs/onfido.js";
import { startJumioStub, type JumioStub } from "../src/dev/stubs/jumio.js";
import { JwksStub } from "../src/dev/stubs/fireblocks-jwks.js";
import { rsaKeyPair } from "../src/dev/simulator/fireblocks-signing.js";
import { startRelaySide } from "../src/processes/relay.js";
import { QUEUE_NAMES } from "../src/processes/queue-modules.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import { adminApiClient } from "./helpers/admin-api.js";
import { randomWallet, startTestChain, type TestChain } from "./helpers/chain.js";
import { testEnv, waitFor } from "./helpers/env.js";
import { ROOT, spawnNode } from "./helpers/process.js";
import { emulatorClient } from "./helpers/relay.js";
import { startStack, type TestStack } from "./helpers/stack.js";

const TOKEN = "simulator-admin-token-0123456789";
const secrets = {
  PAYMENTS_WEBHOOK_SECRETS: `whsec_${randomBytes(24).toString("base64")}`,
  BAKKT_WEBHOOK_SECRETS: `whsec_${randomBytes(24).toString("base64")}`,
  SUMSUB_WEBHOOK_SECRETS: randomBytes(16).toString("hex"),
  ONFIDO_WEBHOOK_SECRETS: randomBytes(16).toString("hex"),
  TRULIOO_WEBHOOK_SECRETS: randomBytes(16).toString("hex"),
  JUMIO_CALLBACK_CREDENTIALS: `jumio:${randomBytes(8).toString("hex")}`,
};
const fireblocks = rsaKeyPair();
const KID = "sim-key-1";

// `npm run simulate -- --all` as a real child process against a listening web + worker + relay
// on real Redis, Postgres and anvil, with stubs only for the SaaS APIs the processors call back.
describe("npm run simulate", () => {
  let chain: TestChain;
  let onfido: OnfidoStub;
  let jumio: JumioStub;
  let jwks: JwksStub;
  let emulator: SqsEmulator;
  let sqs: SQSClient;
  let stack: TestStack;
  let relay: { stop(): Promise<void> };
  const api = adminApiClient(() => stack.base, TOKEN);

  beforeAll(async () => {
    [chain, onfido, jumio, jwks, emulator] = await Promise.all([startTestChain(), startOnfidoStub(), startJumioStub(), JwksStub.start(), startSqsEmulator()]);
    await jwks.publish(KID, fireblocks.privateKey);
    sqs = emulatorClient(emulator);
    stack = await startStack("simulator", {
      env: {
        ...chain.env,
        ...secrets,
        ADMIN_API_TOKEN: TOKEN,
        FIREBLOCKS_PUBLIC_KEYS: fireblocks.publicPem,
        FIREBLOCKS_JWKS_URL: jwks.url,
        ONFIDO_API_URL: onfido.url,
        ONFIDO_API_TOKEN: onfido.apiToken,
        JUMIO_IP_ALLOWLIST: "127.0.0.1/32,::1/128",
        JUMIO_TOKEN_URL: jumio.tokenUrl,
        JUMIO_API_URL: jumio.url,
        JUMIO_CLIENT_ID: jumio.clientId,
        JUMIO_CLIENT_SECRET: jumio.clientSecret,
        RELAY_WAIT_TIME_SECONDS: "1",
      },
      web: true,
      worker: true,
    });
    relay = startRelaySide(stack.c, { queueUrls: { primary: emulator.primaryUrl, dr: emulator.drUrl }, sqs });
  });
  afterAll(async () => {
    await relay?.stop();
    await stack?.close();
    sqs?.destroy();
    await Promise.all([chain?.stop(), onfido?.close(), jumio?.close(), jwks?.stop(), emulator?.stop()]);
  });

  const investor = async (id: string, extra: Record<string, unknown> = {}) => {
    const res = await api("POST", "/investors", {
      id,
      wallet: randomWallet(),
      firstName: "Ada",
      lastName: "Lovelace",
      dateOfBirth: "1815-12-10",
      nationality: "GB",
      ...extra,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  };
  const order = async (referenceId: string, investorId: string, expectedAmount: string) => {
    const res = await api("POST", "/orders", {
      referenceId,
      investorId,
      tokenAddress: chain.deployment.securityToken,
      tokenAmount: "1000000000000000000",
      expectedAmount,
      currency: "USD",
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  };

  it("--list names every event; --all sends each one, each is accepted and processed", async () => {
    // What the examples name (see each event's `needs`).
    await investor("12672");
    await investor("externalUserId");
    await investor("sample-user-id");
    await investor("inv-jumio-1");
    await investor("inv-onfido-1");
    await investor("inv-bakkt-1", { bakktPartyRef: "ABCDEFG123" });
    await investor("inv-bakkt-2", { bakktPartyRef: "e8596570-f058-493b-a667-965b6ea2eb8e" });
    await order("ATK-TX-10001", "externalUserId", "2500.50");
    await order("ATK-TX-10002", "12672", "1000.00");
    await order("77c16517-4513-4124-ab53-a798c310c848", "sample-user-id", "100");
    // Onfido's API (its stub here) knows the check the event names, as dev mode's stub does.
    const check = ONFIDO_EXAMPLE_CHECK;
    onfido.checks.set(check.id, onfidoCheck(onfido.url, check.id, { applicantId: check.applicantId, result: "clear", tags: [`investor:${check.investorId}`] }));

    const env = testEnv(stack.name, {
      ...secrets,
      SIMULATOR_FIREBLOCKS_PRIVATE_KEY: fireblocks.privatePem,
      SIMULATOR_FIREBLOCKS_KID: KID,
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_SQS: emulator.endpoint,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      BAKKT_SQS_PRIMARY_URL: emulator.primaryUrl,
      BAKKT_SQS_DR_URL: emulator.drUrl,
    });
    const run = async (args: string[]) => {
      // In an empty directory, so no .dev/simulator.env of a local `npm run dev` is read.
      const p = spawnNode(join(ROOT, "dist/src/bin/simulate.js"), args, env, mkdtempSync(join(tmpdir(), "simulate-")));
      const exit = await p.exited;
      return { ...exit, out: p.stdout(), err: p.stderr() };
    };

    const listed = await run(["--list"]);
    expect(listed.code).toBe(0);
    for (const e of SIMULATED_EVENTS) expect(listed.out).toContain(`${e.provider} ${e.event}`);

    const sent = await run(["--all", "--target", stack.base]);
    expect(sent.err).toBe("");
    expect(sent.code).toBe(0);
    const lines = sent.out.trim().split("\n");
    expect(lines).toHaveLength(SIMULATED_EVENTS.length);
    SIMULATED_EVENTS.forEach((e, i) => {
      expect(lines[i]).toContain(`${e.provider} ${e.event}: `);
      if (e.transport.kind === "webhook") expect(lines[i]).toContain(`-> ${e.accepted} `);
      else expect(lines[i]).toContain("published message");
    });
    expect(lines.find((l) => l.startsWith("trulioo handshake"))).toContain("E5KUIHFDEKJS485RFU38H0B7CFNFMUCJMRDGN9UEYP0YJLGFGFC0DFGUB");

    // Processed: every job of every queue completed, none failed, waiting or dead-lettered.
    const { queues, dbh } = stack.c;
    const counts = async () => {
      const all = await Promise.all(
        QUEUE_NAMES.map(async (q) => [q, await queues.queue(q).getJobCounts("waiting", "active", "delayed", "prioritized", "completed", "failed")] as const),
      );
      return Object.fromEntries(all);
    };
    const settled = await waitFor(
      async () => {
        const c = await counts();
        const busy = Object.values(c).some((n) => (n.waiting ?? 0) + (n.active ?? 0) + (n.delayed ?? 0) + (n.prioritized ?? 0) > 0);
        const done = ["payments", "bakkt-webhooks", "kyc-sumsub", "kyc-onfido", "kyc-trulioo", "kyc-jumio", "custody-fireblocks", "broker-events"].every(
          (q) => (c[q]?.completed ?? 0) > 0,
        );
        return !busy && done && c;
      },
      60_000,
      "every simulated event processed",
    );
    for (const [q, n] of Object.entries(settled)) expect(n.failed, `${q} failed jobs`).toBe(0);
    for (const q of QUEUE_NAMES) expect(await listDeadLetters(queues.deadLetters(q)), `${q} dead letters`).toEqual([]);

    // And their effects: the approval released and minted the paid orders.
    const o1 = await waitFor(
      async () => ((await api("GET", "/orders/ATK-TX-10001")).body.status === "completed" ? true : undefined),
      30_000,
      "ATK-TX-10001 minted",
    );
    expect(o1).toBe(true);
    expect((await api("GET", "/orders/77c16517-4513-4124-ab53-a798c310c848")).body.status).toBe("completed");
    expect((await api("GET", "/investors/inv-onfido-1")).body.kyc.status).toBe("approved");
    expect((await api("GET", "/investors/inv-jumio-1")).body.kyc.status).toBe("in_review");
    const custody = await dbh.db.selectFrom("custody_transactions").select(["id", "status"]).orderBy("id").execute();
    expect(custody).toEqual([
      { id: "0f3d3c0e-7d2c-4a8e-9a61-7c1f0e2b5d11", status: "COMPLETED" },
      { id: "3b9e2f1a-8c4d-4e7b-a0f2-5d6c7b8a9e01", status: "CONFIRMING" },
    ]);
    const broker = await dbh.db.selectFrom("broker_events").select("event_type").orderBy("event_type").execute();
    expect(broker.map((b) => b.event_type)).toEqual(["accounts.BankAccountLink.v1", "accounts.PartyEvent.v1", "transfers.FiatEvent.v1"]);
  });
});
