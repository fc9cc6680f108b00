import { existsSync } from "node:fs";
import { findEvent, SIMULATED_EVENTS, type SimulatedEvent } from "../dev/simulator/catalog.js";
import { applyOverrides, sendEvent, SimulatorError, type HmacSigners, type SendResult } from "../dev/simulator/send.js";
import { DEV_SIMULATOR_ENV_FILE, secretsFromEnv, targetsFromEnv } from "../dev/simulator/settings.js";
import { signHexHmacSha256 } from "../server/webhooks/verify/hex-hmac.js";
import { signStandardWebhook } from "../server/webhooks/verify/standard-webhooks.js";
import { signSumsub } from "../server/webhooks/verify/sumsub-digest.js";

const USAGE = `usage: npm run simulate -- <provider> <event> [--target URL] [--set path=value ...]
       npm run simulate -- --all [--target URL]     send every event below, in order
       npm run simulate -- --list                   list the events
Signs with the secrets hookrail is configured with (PAYMENTS_WEBHOOK_SECRETS, ...), read from
the environment and, when present, ${DEV_SIMULATOR_ENV_FILE} (written by npm run dev; the
environment wins). Broker envelopes are published to BAKKT_SQS_PRIMARY_URL / BAKKT_SQS_DR_URL.`;

const SIGNERS: HmacSigners = { standardWebhook: signStandardWebhook, sumsub: signSumsub, hexHmacSha256: signHexHmacSha256 };

function fail(message: string): never {
  process.stderr.write(`simulate: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function list(): string {
  const rows = SIMULATED_EVENTS.map((e) => [
    `${e.provider} ${e.event}`,
    e.transport.kind === "sqs" ? `SQS ${e.transport.eventType}` : `POST ${e.transport.path}`,
    e.needs ?? "",
  ]);
  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const w1 = Math.max(...rows.map((r) => r[1]!.length));
  return rows.map(([a, b, c]) => `${a!.padEnd(w0)}  ${b!.padEnd(w1)}  ${c ? `needs ${c}` : ""}`.trimEnd()).join("\n");
}

const describe = (e: SimulatedEvent, r: SendResult): string =>
  r.kind === "sqs"
    ? `${e.provider} ${e.event}: published message ${r.messageId} (${e.transport.kind === "sqs" ? e.transport.eventType : ""}) to ${r.queueUrls.join(", ")}`
    : `${e.provider} ${e.event}: POST ${r.url} -> ${r.status} ${r.answer}`;

async function main(argv: string[]): Promise<void> {
  let target: string | undefined;
  const overrides: string[] = [];
  const positional: string[] = [];
  let all = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--help" || a === "-h") return void process.stdout.write(`${USAGE}\n`);
    if (a === "--list") return void process.stdout.write(`${list()}\n`);
    if (a === "--all") all = true;
    else if (a === "--target") target = argv[++i] ?? fail("--target needs a URL");
    else if (a === "--set") overrides.push(argv[++i] ?? fail("--set needs path=value"));
    else if (a.startsWith("--")) fail(`unknown option ${a}`);
    else positional.push(a);
  }
  let events: SimulatedEvent[];
  if (all) {
    if (positional.length || overrides.length) fail("--all takes no <provider> <event> and no --set");
    events = [...SIMULATED_EVENTS];
  } else {
    const [provider, event] = positional;
    if (!provider || !event || positional.length > 2) fail("expected <provider> <event>");
    const found = findEvent(provider, event);
    if (!found) fail(`no event "${provider} ${event}" (npm run simulate -- --list)`);
    events = [found];
  }
  // loadEnvFile never overrides what the environment already sets.
  if (existsSync(DEV_SIMULATOR_ENV_FILE)) process.loadEnvFile(DEV_SIMULATOR_ENV_FILE);
  const secrets = secretsFromEnv(process.env);
  const targets = targetsFromEnv(process.env, target);
  let refused = 0;
  try {
    for (const e of events) {
      const r = await sendEvent(e, applyOverrides(e.body, overrides), secrets, targets, SIGNERS);
      process.stdout.write(`${describe(e, r)}\n`);
      // A repeat of an event hookrail already has is answered 200 {"duplicate": true}: accepted too.
      if (r.kind === "webhook" && r.status !== e.accepted && !(r.status === 200 && /"duplicate":\s*true/.test(r.answer))) refused++;
    }
  } finally {
    targets.sqs?.client.destroy();
  }
  if (refused > 0) process.exitCode = 1;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`simulate: ${err instanceof SimulatorError ? err.message : err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
