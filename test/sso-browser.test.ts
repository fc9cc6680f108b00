import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import { UnrecoverableError } from "bullmq";
import { generateSignedCookie } from "hono/cookie";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevOidcProvider, startDevOidcProvider } from "../src/dev/oidc-provider.js";
import { buildClients, closeClients } from "../src/processes/clients.js";
import { QUEUE_NAMES } from "../src/processes/queue-modules.js";
import { startWebSide } from "../src/processes/web.js";
import { listDeadLetters } from "../src/queues/dead-letter.js";
import { SESSION_COOKIE } from "../src/server/auth/session.js";
import { adminApiClient } from "./helpers/admin-api.js";
import { randomWallet } from "./helpers/chain.js";
import { completedJob, testConfig } from "./helpers/env.js";
import { startStack, type TestStack } from "./helpers/stack.js";

// The ops surface end to end: a real web process and worker, a real OpenID Connect provider
// (oidc-provider), and Debian's Chromium driven by playwright-core. One browser per file.

const SCREENSHOTS = ".test-results/screenshots";
/** A job card's icon buttons in bull-board 9.10's UI (they carry a tooltip, not a label). */
const JOB_ACTION = "button.button-GXX8BV";
const ADMIN_API_TOKEN = "browser-test-admin-token-0123";
const SESSION_SECRET = "a-test-session-secret-of-at-least-32-characters";
const USERS = [
  { username: "vera", password: "viewer-pass-1", email: "vera@example.com", groups: ["ops-viewers"] },
  { username: "otto", password: "operator-pass-1", email: "otto@example.com", groups: ["ops-operators", "ops-viewers"] },
  { username: "nina", password: "nobody-pass-1", email: "nina@example.com", groups: ["sales"] },
];

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, tries = 200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe("ops surface with OpenID Connect, in a browser", () => {
  let idp: DevOidcProvider;
  let stack: TestStack;
  let browser: Browser;
  let base: string;
  /** The dead letter of job dp-1 the operator replays. */
  let dp1Letter = "";
  /** Runs of the test queue's processor per job id: the first run of each job fails. */
  const runs = new Map<string, number>();

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    idp = await startDevOidcProvider({ redirectUrl: `${base}/admin/auth/callback`, users: USERS });
    stack = await startStack("sso_browser", {
      env: {
        PORT: String(port),
        OIDC_ISSUER_URL: idp.issuer,
        OIDC_CLIENT_ID: idp.clientId,
        OIDC_CLIENT_SECRET: idp.clientSecret,
        OIDC_REDIRECT_URL: `${base}/admin/auth/callback`,
        OIDC_SCOPES: "openid email groups",
        SSO_VIEWER_ROLES: "ops-viewers",
        SSO_OPERATOR_ROLES: "ops-operators",
        SESSION_SECRET,
        WORKER_QUEUES: "dividend-payouts,payments",
        ADMIN_API_TOKEN,
      },
      web: true,
      worker: true,
      overrides: {
        "dividend-payouts": () => async (_data: unknown, job: { id?: string }) => {
          const n = (runs.get(String(job.id)) ?? 0) + 1;
          runs.set(String(job.id), n);
          if (n === 1) throw new UnrecoverableError(`first run of ${job.id} fails`);
          return { ran: n };
        },
      },
    });
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
    // Two jobs that fail once: each leaves a failed job and a dead letter.
    const q = stack.c.queues.queue("dividend-payouts");
    await q.add("pay", { distributionId: "d-1" }, { jobId: "dp-1" });
    await q.add("pay", { distributionId: "d-2" }, { jobId: "dp-2" });
    await until("two dead letters", async () => (await listDeadLetters(stack.c.queues.deadLetters("dividend-payouts"))).length === 2);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await idp?.close();
  });

  async function login(user: (typeof USERS)[number]): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/admin/queues`);
    // Sent to the IdP's own sign-in form.
    expect(page.url().startsWith(idp.issuer)).toBe(true);
    await page.getByLabel("Username").fill(user.username);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((u) => u.href.startsWith(base));
    return { context, page };
  }

  const sessionCookie = async (context: BrowserContext) => (await context.cookies(`${base}/admin/queues`)).find((c) => c.name === SESSION_COOKIE);
  const auditRows = () => stack.c.dbh.db.selectFrom("audit_events").selectAll().orderBy("id").execute();
  /** A write from the page itself (the browser adds Origin, as for bull-board's own calls). */
  const pagePut = (page: Page, path: string) => page.evaluate(async (p) => (await fetch(p, { method: "PUT" })).status, path);

  it("a viewer sees every queue and its dead-letter queue but cannot retry (no button, API 403)", async () => {
    const { context, page } = await login(USERS[0]!);
    try {
      expect(new URL(page.url()).pathname).toBe("/admin/queues");
      const cookie = await sessionCookie(context);
      expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: "Lax" });
      expect(cookie!.expires).toBeGreaterThan(Date.now() / 1000);

      const names = await page.evaluate(async () =>
        ((await (await fetch("/admin/queues/api/queues")).json()) as { queues: { name: string }[] }).queues.map((q) => q.name),
      );
      expect(names.sort()).toEqual([...QUEUE_NAMES, ...QUEUE_NAMES.map((n) => `${n}-dlq`)].sort());
      for (const n of ["payments", "payments-dlq", "dividend-payouts-dlq"])
        await expect(page.getByText(n, { exact: true }).first().isVisible()).resolves.toBe(true);
      await page.screenshot({ path: `${SCREENSHOTS}/viewer-board.png`, fullPage: true });

      await page.goto(`${base}/admin/queues/queue/dividend-payouts?status=failed`);
      await page.getByText("dp-1").first().waitFor();
      // Read-only: neither "Retry all" nor any job's icon buttons (retry, duplicate, edit, clean).
      expect(await page.getByRole("button", { name: /retry/i }).count()).toBe(0);
      expect(await page.locator(JOB_ACTION).count()).toBe(0);
      await page.screenshot({ path: `${SCREENSHOTS}/viewer-failed-jobs.png`, fullPage: true });
      expect(await pagePut(page, "/admin/queues/api/queues/dividend-payouts/dp-1/retry")).toBe(403);

      await page.goto(`${base}/admin/dead-letters`);
      await page.locator('section[data-queue="dividend-payouts"] tr[data-job-id="dp-1"]').waitFor();
      expect(await page.getByRole("button", { name: /replay|purge/i }).count()).toBe(0);
      const replay = await page.evaluate(
        async () => (await fetch("/admin/dead-letters/dividend-payouts/replay", { method: "POST", body: new URLSearchParams({ id: "dp-1" }) })).status,
      );
      expect(replay).toBe(403);
      expect(runs.get("dp-1")).toBe(1);
    } finally {
      await context.close();
    }
  });

  it("an operator retries from the board and replays a dead letter from the dead-letter page; both jobs run", async () => {
    const { context, page } = await login(USERS[1]!);
    try {
      await page.goto(`${base}/admin/queues/queue/dividend-payouts?status=failed`);
      await page.getByText("dp-2").first().waitFor();
      // Each failed job's card starts its icon buttons with retry (its tooltip says so); newest job first.
      expect(await page.locator(JOB_ACTION).count()).toBe(8);
      const retry = page.locator(JOB_ACTION).first();
      await retry.hover();
      await page.getByText("Retry", { exact: true }).waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}/operator-failed-jobs.png`, fullPage: true });
      await retry.click();
      await page.getByRole("button", { name: "Confirm" }).click();
      await until("dp-2 to run again", async () => runs.get("dp-2") === 2);

      // The page shows each letter's own id (the form the CLI and the board use) and replays by it.
      dp1Letter = (await listDeadLetters(stack.c.queues.deadLetters("dividend-payouts"))).find((l) => l.jobId === "dp-1")!.id;
      expect(dp1Letter).toMatch(/^dp-1\.\d+$/);
      await page.goto(`${base}/admin/dead-letters`);
      await page.locator(`section[data-queue="dividend-payouts"] tr[data-id="${dp1Letter}"]`).getByRole("button", { name: "Replay" }).click();
      await expect(page.getByRole("status").textContent()).resolves.toContain("replayed 1 on dividend-payouts");
      await page.screenshot({ path: `${SCREENSHOTS}/operator-dead-letters.png`, fullPage: true });
      const job = await completedJob(stack.c.queues.queue("dividend-payouts"), "dp-1");
      expect(job.returnvalue).toEqual({ ran: 2 });
      const letters = await listDeadLetters(stack.c.queues.deadLetters("dividend-payouts"));
      expect(letters.map((l) => l.jobId)).not.toContain("dp-1");

      // The same session from another site: refused, whatever the cookie says.
      const cookie = await sessionCookie(context);
      const crossSite = await fetch(`${base}/admin/queues/api/queues/dividend-payouts/dp-2/retry`, {
        method: "PUT",
        headers: { cookie: `${SESSION_COOKIE}=${cookie!.value}`, origin: "https://evil.example" },
      });
      expect(crossSite.status).toBe(403);
    } finally {
      await context.close();
    }
  });

  it("an operator cancels a flagged order from the flagged-orders page, once; a viewer sees no actions", async () => {
    const api = adminApiClient(() => base, ADMIN_API_TOKEN);
    const investorId = `inv-${randomUUID()}`;
    const ref = `ATK-TX-${randomUUID()}`;
    expect(
      (
        await api("POST", "/investors", {
          id: investorId,
          wallet: randomWallet(),
          firstName: "Ada",
          lastName: "Lovelace",
          dateOfBirth: "1990-12-10",
          nationality: "GB",
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api("POST", "/orders", {
          referenceId: ref,
          investorId,
          tokenAddress: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
          tokenAmount: "5",
          expectedAmount: "100.00",
          currency: "USD",
        })
      ).status,
    ).toBe(201);
    const tx = `BTX-${randomUUID()}`;
    await stack.c.queues.queue("payments").add(
      "payment",
      {
        eventId: tx,
        receivedAt: new Date().toISOString(),
        payload: {
          type: "payment.completed",
          referenceId: ref,
          amount: "90.00",
          currency: "USD",
          bankTransactionId: tx,
          timestamp: new Date().toISOString(),
          rail: "FEDNOW",
        },
      },
      { jobId: `pay-${tx}` },
    );
    await until("order flagged", async () => (await api("GET", `/orders/${ref}`)).body.status === "flagged");

    const viewer = await login(USERS[0]!);
    try {
      await viewer.page.goto(`${base}/admin/flagged-orders`);
      await viewer.page.locator(`tr[data-reference="${ref}"]`).waitFor();
      expect(await viewer.page.getByRole("button").count()).toBe(0);
    } finally {
      await viewer.context.close();
    }
    const { context, page } = await login(USERS[1]!);
    try {
      await page.goto(`${base}/admin/flagged-orders`);
      const row = page.locator(`tr[data-reference="${ref}"]`);
      await row.getByLabel("Reason").fill("investor asked for a refund");
      await row.getByRole("button", { name: "Cancel (refund pending)" }).click();
      await expect(page.getByRole("status").textContent()).resolves.toContain(`order ${ref} is now refund_pending`);
      await page.screenshot({ path: `${SCREENSHOTS}/operator-flagged-orders.png`, fullPage: true });
      expect((await api("GET", `/orders/${ref}`)).body.status).toBe("refund_pending");
      expect(await page.locator(`tr[data-reference="${ref}"]`).count()).toBe(0);
    } finally {
      await context.close();
    }
    const rows = await auditRows();
    expect(rows.filter((r) => r.action === "order.cancel" && r.target === `orders/${ref}`).map((r) => [r.actor, r.result])).toEqual([
      ["otto@example.com", "ok"],
    ]);
  });

  it("logout ends the session: the old cookie is refused afterwards", async () => {
    const { context, page } = await login(USERS[1]!);
    try {
      const cookie = (await sessionCookie(context))!;
      const withOld = { headers: { cookie: `${SESSION_COOKIE}=${cookie.value}` } };
      expect((await fetch(`${base}/admin/queues/api/queues`, withOld)).status).toBe(200);
      await page.goto(`${base}/admin/logout`);
      await page.getByRole("button", { name: "Log out" }).click();
      await page.getByText("You are signed out").waitFor();
      expect(await sessionCookie(context)).toBeUndefined();
      expect((await fetch(`${base}/admin/queues/api/queues`, withOld)).status).toBe(401);
      const again = await fetch(`${base}/admin/queues`, { ...withOld, redirect: "manual" });
      expect(again.status).toBe(302);
      expect(again.headers.get("location")).toMatch(/^\/admin\/login\?returnTo=/);
    } finally {
      await context.close();
    }
  });

  it("refuses a forged or expired session cookie, a callback with a foreign or swapped state, and a signed-in user without a role", async () => {
    const { context } = await login(USERS[0]!);
    const cookie = (await sessionCookie(context))!;
    await context.close();
    const call = (value: string) => fetch(`${base}/admin/queues/api/queues`, { headers: { cookie: `${SESSION_COOKIE}=${value}` } });
    expect((await call(cookie.value)).status).toBe(200);
    const [signed] = decodeURIComponent(cookie.value).split(/\.(?=[^.]*$)/);
    const [sid] = signed!.split(".");
    // Forged: another expiry under the old signature, and a signature made with the wrong key.
    const later = `${sid}.${Date.now() + 86_400_000}`;
    expect((await call(encodeURIComponent(`${later}.${decodeURIComponent(cookie.value).split(".").at(-1)}`))).status).toBe(401);
    const wrongKey = (await generateSignedCookie(SESSION_COOKIE, later, "not-the-secret-not-the-secret-not-the")).split(";")[0]!.split("=").slice(1).join("=");
    expect((await call(wrongKey)).status).toBe(401);
    // Expired: correctly signed (the test knows the secret) but past its expiry.
    const expired = (await generateSignedCookie(SESSION_COOKIE, `${sid}.${Date.now() - 1_000}`, SESSION_SECRET)).split(";")[0]!.split("=").slice(1).join("=");
    expect((await call(expired)).status).toBe(401);

    // A callback that does not belong to a sign-in started here, or whose state was swapped.
    const stray = await fetch(`${base}/admin/auth/callback?code=abc&state=def`, { redirect: "manual" });
    expect(stray.status).toBe(400);
    const start = await fetch(`${base}/admin/login`, { redirect: "manual" });
    const authorize = new URL(start.headers.get("location")!);
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("nonce")).toBeTruthy();
    const loginCookie = /hookrail_login=[^;]+/.exec(start.headers.get("set-cookie") ?? "")![0];
    const swapped = await fetch(`${base}/admin/auth/callback?code=abc&state=${authorize.searchParams.get("state")}x`, {
      headers: { cookie: loginCookie },
      redirect: "manual",
    });
    expect(swapped.status).toBe(401);
    expect(swapped.headers.get("set-cookie") ?? "").not.toContain(`${SESSION_COOKIE}=`);

    const nobody = await browser.newContext();
    try {
      const page = await nobody.newPage();
      await page.goto(`${base}/admin/queues`);
      await page.getByLabel("Username").fill(USERS[2]!.username);
      await page.getByLabel("Password").fill(USERS[2]!.password);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().includes("/admin/auth/callback")),
        page.getByRole("button", { name: "Sign in" }).click(),
      ]);
      expect(response.status()).toBe(403);
      expect(await sessionCookie(nobody)).toBeUndefined();
    } finally {
      await nobody.close();
    }
  });

  it("refuses an ID token whose signature does not verify against the issuer's JWKS", async () => {
    // The IdP is reached through a proxy that serves a JWKS with the same key id but another key:
    // everything else (discovery, login, code exchange, claims) is the real provider's.
    const proxyPort = await freePort();
    const webPort = await freePort();
    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    const webBase = `http://127.0.0.1:${webPort}`;
    const real = await startDevOidcProvider({ redirectUrl: `${webBase}/admin/auth/callback`, users: USERS, issuer: proxyUrl });
    const realKeys = (await (await fetch(`${real.url}/jwks`)).json()) as { keys: { kid: string }[] };
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    const foreign = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), alg: "RS256", use: "sig", kid: realKeys.keys[0]!.kid }] });
    const proxy = http.createServer((req, res) => {
      if (req.url === "/jwks") return void res.writeHead(200, { "content-type": "application/json" }).end(foreign);
      const upstream = http.request(`${real.url}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode!, r.headers);
        r.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(proxyPort, "127.0.0.1", resolve));
    const clients = await buildClients(
      testConfig(stack.name, {
        PORT: String(webPort),
        OIDC_ISSUER_URL: proxyUrl,
        OIDC_CLIENT_ID: real.clientId,
        OIDC_CLIENT_SECRET: real.clientSecret,
        OIDC_REDIRECT_URL: `${webBase}/admin/auth/callback`,
        OIDC_SCOPES: "openid email groups",
        SSO_OPERATOR_ROLES: "ops-operators",
        SESSION_SECRET,
      }),
      "producer",
      "test",
    );
    const side = await startWebSide(clients);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${webBase}/admin/queues`);
      expect(page.url().startsWith(proxyUrl)).toBe(true);
      await page.getByLabel("Username").fill(USERS[1]!.username);
      await page.getByLabel("Password").fill(USERS[1]!.password);
      const [callback] = await Promise.all([
        page.waitForResponse((r) => r.url().startsWith(`${webBase}/admin/auth/callback`)),
        page.getByRole("button", { name: "Sign in" }).click(),
      ]);
      expect(callback.status()).toBe(401);
      await page.getByText("could not be verified").waitFor();
      expect((await context.cookies(`${webBase}/admin/queues`)).some((c) => c.name === SESSION_COOKIE)).toBe(false);
    } finally {
      await context.close();
      await side.stop();
      await closeClients(clients);
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await real.close();
    }
  });

  it("audited each action, naming the user", async () => {
    const rows = await auditRows();
    const has = (actor: string, action: string, result: string, target?: string) =>
      rows.some((r) => r.actor === actor && r.action === action && r.result === result && (target === undefined || r.target === target));
    expect(has("vera@example.com", "session.login", "ok")).toBe(true);
    expect(has("vera@example.com", "board.job.retry", "refused", "dividend-payouts/dp-1")).toBe(true);
    expect(has("vera@example.com", "dead_letter.write", "refused")).toBe(true);
    expect(has("otto@example.com", "board.job.retry", "ok", "dividend-payouts/dp-2")).toBe(true);
    expect(has("otto@example.com", "dead_letter.replay", "ok", `dividend-payouts/${dp1Letter}`)).toBe(true);
    expect(has("otto@example.com", "session.logout", "ok")).toBe(true);
    expect(has("nina@example.com", "session.login", "refused")).toBe(true);
    for (const r of rows) expect(r.ip).toMatch(/127\.0\.0\.1/);
  });
});
