import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/config/index.js";
import { loadProcessConfig as loadConfig } from "../src/processes/config.js";
import { ROOT, spawnNode } from "./helpers/process.js";

describe("config", () => {
  it("applies defaults to an empty environment", () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.WORKER_QUEUES).toEqual([]);
    expect(config.WORKER_CONCURRENCY).toBe(10);
  });

  it("parses a subset of queues", () => {
    expect(loadConfig({ WORKER_QUEUES: "payments, kyc-sumsub" }).WORKER_QUEUES).toEqual(["payments", "kyc-sumsub"]);
  });

  it("names every bad variable in one message, without echoing values", () => {
    let caught: unknown;
    try {
      loadConfig({ PORT: "eighty", REDIS_URL: "http://secret-host:6379", WORKER_QUEUES: "payments,nope" });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as ConfigError).message;
    expect(message).toMatch(/^Invalid configuration \(3 problems\)/);
    expect(message).toMatch(/PORT: expected an integer from 0 to 65535/);
    expect(message).toMatch(/REDIS_URL: expected a redis\/rediss URL/);
    expect(message).toMatch(/WORKER_QUEUES\.1: expected a comma-separated subset of/);
    expect(message).not.toContain("secret-host");
  });

  it("refuses Jumio settings without JUMIO_IP_ALLOWLIST (its callbacks are unsigned), and half-configured provider APIs", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ JUMIO_CALLBACK_CREDENTIALS: "jumio:s3cret-pass" })).toEqual([
      "JUMIO_IP_ALLOWLIST: required when JUMIO_CALLBACK_CREDENTIALS is set (Jumio callbacks carry no signature)",
    ]);
    expect(problems({ JUMIO_CLIENT_ID: "id", JUMIO_CLIENT_SECRET: "secret" })).toEqual([
      "JUMIO_IP_ALLOWLIST: required when JUMIO_CLIENT_ID, JUMIO_CLIENT_SECRET are set (Jumio callbacks carry no signature)",
      "JUMIO_TOKEN_URL, JUMIO_API_URL: required together with JUMIO_CLIENT_ID, JUMIO_CLIENT_SECRET",
    ]);
    expect(problems({ ONFIDO_API_TOKEN: "api_sandbox.x" })).toEqual(["ONFIDO_API_URL: required together with ONFIDO_API_TOKEN"]);
    expect(problems({ JUMIO_CALLBACK_CREDENTIALS: "no-colon", JUMIO_IP_ALLOWLIST: "34.202.241.227" })).toEqual([
      "JUMIO_CALLBACK_CREDENTIALS: expected user:password",
    ]);
    expect(problems({ JUMIO_CALLBACK_CREDENTIALS: "jumio:s3cret-pass", JUMIO_IP_ALLOWLIST: "34.202.241.227" })).toEqual([]);
    // The message names the settings, never the credentials.
    expect(() => loadConfig({ JUMIO_CALLBACK_CREDENTIALS: "jumio:s3cret-pass" })).toThrow(/^(?![\s\S]*s3cret)/);
  });

  it("KYC reconciliation: hourly after 2 h by default; KYC_RECONCILE_AFTER in milliseconds or with a unit, bounded; Sumsub's API settings go together", () => {
    const defaults = loadConfig({});
    expect(defaults.KYC_RECONCILE_CRON).toBe("0 * * * *");
    expect(defaults.KYC_RECONCILE_AFTER).toBe(2 * 3_600_000);
    expect(loadConfig({ KYC_RECONCILE_AFTER: "5400000" }).KYC_RECONCILE_AFTER).toBe(5_400_000);
    expect(loadConfig({ KYC_RECONCILE_AFTER: "90m" }).KYC_RECONCILE_AFTER).toBe(5_400_000);
    expect(loadConfig({ KYC_RECONCILE_AFTER: "1d" }).KYC_RECONCILE_AFTER).toBe(86_400_000);
    for (const bad of ["2", "2 hours", "-1h", "31d", "1.5h"]) {
      expect(() => loadConfig({ KYC_RECONCILE_AFTER: bad })).toThrow(/KYC_RECONCILE_AFTER: expected milliseconds or a duration like "2h"/);
    }
    expect(() => loadConfig({ KYC_RECONCILE_CRON: "hourly" })).toThrow(/KYC_RECONCILE_CRON: expected a cron pattern/);
    let problems: string[] = [];
    try {
      loadConfig({ SUMSUB_APP_TOKEN: "sbx:token", SUMSUB_SECRET_KEY: "s3cret-key" });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual(["SUMSUB_API_URL: required together with SUMSUB_APP_TOKEN, SUMSUB_SECRET_KEY"]);
    expect(problems.join("\n")).not.toContain("s3cret");
  });

  it("outbound settings of Onfido, Jumio and Trulioo: defaults, and each needs its provider's API settings", () => {
    const defaults = loadConfig({});
    expect([defaults.ONFIDO_WORKFLOW_ID, defaults.JUMIO_ACCOUNT_URL, defaults.TRULIOO_API_URL]).toEqual([undefined, undefined, undefined]);
    expect([defaults.JUMIO_WORKFLOW_KEY, defaults.JUMIO_LINK_LIFETIME, defaults.TRULIOO_CONFIGURATION_NAME]).toEqual([
      10011,
      7 * 86_400_000,
      "Identity Verification",
    ]);
    expect(loadConfig({ JUMIO_LINK_LIFETIME: "30d" }).JUMIO_LINK_LIFETIME).toBe(30 * 86_400_000);
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ ONFIDO_WORKFLOW_ID: "wf" })).toEqual(["ONFIDO_API_URL, ONFIDO_API_TOKEN: required with ONFIDO_WORKFLOW_ID"]);
    expect(problems({ JUMIO_ACCOUNT_URL: "https://account.amer-1.jumio.ai" })).toEqual([
      "JUMIO_TOKEN_URL, JUMIO_API_URL, JUMIO_CLIENT_ID, JUMIO_CLIENT_SECRET: required with JUMIO_ACCOUNT_URL",
    ]);
    const trulioo = problems({ TRULIOO_CLIENT_ID: "id", TRULIOO_CLIENT_SECRET: "s3cret-trulioo" });
    expect(trulioo).toEqual(["TRULIOO_TOKEN_URL, TRULIOO_API_URL: required together with TRULIOO_CLIENT_ID, TRULIOO_CLIENT_SECRET"]);
    expect(trulioo.join("\n")).not.toContain("s3cret");
    expect(problems({ JUMIO_WORKFLOW_KEY: "0" })).toEqual([expect.stringMatching(/^JUMIO_WORKFLOW_KEY: /)]);
    expect(problems({ JUMIO_LINK_LIFETIME: "61d" })).toEqual([expect.stringMatching(/^JUMIO_LINK_LIFETIME: expected milliseconds or a duration/)]);
    expect(
      problems({
        TRULIOO_TOKEN_URL: "https://auth-api.trulioo.com/connect/token",
        TRULIOO_API_URL: "https://api.trulioo.com",
        TRULIOO_CLIENT_ID: "id",
        TRULIOO_CLIENT_SECRET: "secret",
      }),
    ).toEqual([]);
  });

  it("a process with two bad variables exits 1 with one readable message and no stack", async () => {
    const p = spawnNode(`${ROOT}dist/src/bin/web.js`, [], { PATH: process.env.PATH, PORT: "-1", WORKER_CONCURRENCY: "lots" });
    const { code } = await p.exited;
    expect(code).toBe(1);
    const err = p.stderr();
    expect(err).toContain("PORT:");
    expect(err).toContain("WORKER_CONCURRENCY:");
    expect(err.trim().split("\n")[0]).toMatch(/^hookrail: cannot start: Invalid configuration \(2 problems\)/);
    expect(err).not.toMatch(/\n\s+at /);
  });
});
