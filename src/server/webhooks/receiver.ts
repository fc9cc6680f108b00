import { performance } from "node:perf_hooks";
import type { Queue } from "bullmq";
import type { Context } from "hono";
import type { Logger } from "../../log.js";
import type { AddressMatcher } from "../../net/address-range.js";
import { resolveClientAddress } from "../../net/client-address.js";
import { issuesOf } from "../../validation/issues.js";
import { invalid } from "../invalid.js";
import { securedHeaders, securedResponse } from "../security-headers.js";
import { NotReplicatedError, type ReplicaAcks } from "../../redis/replica-acks.js";
import { addOnce, type Enqueue, QueueUnavailableError } from "./enqueue.js";
import { JsonSyntaxError, parseExactJson } from "./exact-json.js";
import type { WebhookMetrics } from "./metrics.js";
import type { WebhookJob, WebhookProvider } from "./provider.js";
import { requestView } from "./request-view.js";
import { SignatureError, VerifierUnavailableError, type WebhookVerifier } from "./verify/errors.js";

export type Outcome =
  | "accepted"
  | "duplicate"
  | "handshake"
  | "invalid"
  | "unauthorized"
  | "forbidden"
  | "too_large"
  | "unsupported_media_type"
  | "unavailable"
  | "error";

export interface ReceiverOptions {
  /** Its reader (the payload schema) and how an event is identified. */
  provider: Pick<WebhookProvider, "name" | "reader" | "identify" | "handshake">;
  queue: Queue;
  verifier: WebhookVerifier;
  /** Empty = any address. */
  allowlist: AddressMatcher;
  trustedProxies: AddressMatcher;
  maxBytes: number;
  enqueueTimeoutMs: number;
  /** Replicas that must hold a job before it is acknowledged (REDIS_MIN_REPLICA_ACKS). */
  replicaAcks?: ReplicaAcks;
  /** Defaults to `addOnce` (EXISTS + BullMQ add on one connection). */
  enqueue?: Enqueue;
  metrics: WebhookMetrics;
  log: Logger;
  now?: () => Date;
}

interface Answer {
  status: 200 | 202 | 400 | 401 | 403 | 413 | 415 | 500 | 503;
  outcome: Outcome;
  body: Record<string, unknown>;
  jobId?: string;
  eventId?: string;
  /** Logged, never sent: why a signature failed, or what broke. */
  detail?: string;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The receive pipeline of one provider, cheapest check first: sender address, declared size,
 * media type, actual size, signature over the raw bytes, then parsing and validation, then
 * the idempotent enqueue. Nothing is enqueued unless every step passed.
 */
export function createReceiver(opts: ReceiverOptions) {
  const now = opts.now ?? (() => new Date());
  const enqueue = opts.enqueue ?? addOnce;
  // The request line below holds only strings and numbers, which the process logger's redact
  // paths (all of them nested, like "*.authorization") can never match, so the redaction pass
  // is skipped: it was a large share of a line's cost.
  const requestLog = opts.log.child({}, { redact: [] });

  // The verdict for a peer and X-Forwarded-For pair depends on nothing else (the matchers are
  // fixed), and a keep-alive sender repeats the same pair: each pair is parsed and matched once.
  const verdicts = new Map<string, string | null>();
  /** The printable client address if the allowlist refuses it, else undefined. */
  const refusedClient = (peer: string | undefined, forwardedFor: string | undefined): string | undefined => {
    const key = `${peer}\n${forwardedFor ?? ""}`;
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      const client = resolveClientAddress(peer, forwardedFor, opts.trustedProxies);
      verdict = opts.allowlist.matches(client.address) ? null : client.text;
      // A long X-Forwarded-For (any sender can write one) is not kept: the map stays small.
      if (key.length <= VERDICT_KEY_MAX) {
        if (verdicts.size >= VERDICTS_KEPT) verdicts.clear();
        verdicts.set(key, verdict);
      }
    }
    return verdict ?? undefined;
  };

  async function receive(c: Context): Promise<Answer> {
    const req = requestView(c);

    if (opts.allowlist.size > 0) {
      const refused = refusedClient(req.peerAddress, req.header("x-forwarded-for"));
      if (refused !== undefined) return { status: 403, outcome: "forbidden", body: { error: "address not allowed" }, detail: `client ${refused}` };
    }

    const declared = req.header("content-length");
    if (declared !== undefined && Number(declared) > opts.maxBytes) return tooLarge(opts.maxBytes);

    const type = req.header("content-type");
    if (!type || !JSON_TYPE.test(type)) {
      return { status: 415, outcome: "unsupported_media_type", body: { error: "expected Content-Type: application/json" } };
    }

    const body = await req.readBody(opts.maxBytes);
    if (body === "too_large") return tooLarge(opts.maxBytes);

    try {
      // Most verifiers answer at once; only a pending check (a key fetch) is awaited.
      const pending = opts.verifier.verify(req.header, body);
      if (pending) await pending;
    } catch (err) {
      if (err instanceof SignatureError) {
        return { status: 401, outcome: "unauthorized", body: { error: "invalid signature" }, detail: `${err.reason}: ${err.message}` };
      }
      if (err instanceof VerifierUnavailableError) {
        return { status: 503, outcome: "unavailable", body: { error: "signature keys unavailable, retry later" }, detail: err.message };
      }
      throw err;
    }

    let json: unknown;
    try {
      json = parseExactJson(utf8.decode(body));
    } catch (err) {
      const why = err instanceof JsonSyntaxError ? err.message : "body is not UTF-8";
      return { status: 400, outcome: "invalid", body: invalid("body is not valid JSON", [why]) };
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return { status: 400, outcome: "invalid", body: invalid("invalid payload", ["(body): expected a JSON object"]) };
    }
    const read = opts.provider.reader.safeParse(json);
    if (!read.success) return { status: 400, outcome: "invalid", body: invalid("invalid payload", issuesOf(read.error)) };
    const answer = opts.provider.handshake?.(read.data);
    if (answer) return { status: 200, outcome: "handshake", body: answer };

    const event = opts.provider.identify(read.data);
    // BullMQ stores the job as JSON.stringify writes it: exact amounts are strings by now, and
    // any other number kept as its text (JsonNumberText) serialises as the number it denotes.
    const job: WebhookJob<unknown> = { eventId: event.eventId, receivedAt: now().toISOString(), payload: read.data };
    try {
      const r = await enqueue(opts.queue, event.jobName, job, event.jobId, opts.enqueueTimeoutMs, opts.replicaAcks);
      return r.duplicate
        ? { status: 200, outcome: "duplicate", body: { jobId: r.jobId, duplicate: true }, jobId: r.jobId, eventId: event.eventId }
        : { status: 202, outcome: "accepted", body: { jobId: r.jobId }, jobId: r.jobId, eventId: event.eventId };
    } catch (err) {
      // Either way the provider should retry: Redis did not answer, or too few replicas hold the job yet.
      const why = err instanceof QueueUnavailableError ? "queue unavailable" : err instanceof NotReplicatedError ? "queue not replicated" : undefined;
      if (why) {
        return {
          status: 503,
          outcome: "unavailable",
          body: { error: `${why}, retry later` },
          jobId: event.jobId,
          eventId: event.eventId,
          detail: (err as Error).message,
        };
      }
      throw err;
    }
  }

  return async (c: Context): Promise<Response> => {
    const started = performance.now();
    let answer: Answer;
    try {
      answer = await receive(c);
    } catch (err) {
      answer = { status: 500, outcome: "error", body: { error: "internal error" }, detail: (err as Error).message };
    }
    const seconds = (performance.now() - started) / 1000;
    opts.metrics.requests.inc({ provider: opts.provider.name, outcome: answer.outcome });
    opts.metrics.latency.observe({ provider: opts.provider.name, outcome: answer.outcome }, seconds);
    const line: Record<string, string | number | undefined> = {
      provider: opts.provider.name,
      outcome: answer.outcome,
      status: answer.status,
      jobId: answer.jobId,
      eventId: answer.eventId,
      latencyMs: Math.round(seconds * 1e5) / 100,
      detail: answer.detail,
    };
    if (answer.status >= 500) requestLog.warn(line, "webhook");
    else requestLog.info(line, "webhook");
    return securedResponse(JSON.stringify(answer.body), answer.status, answer.status === 413 ? CLOSE_JSON : JSON_TYPE_HEADER);
  };
}

/** Distinct sender address pairs whose allowlist verdict is kept (all are forgotten at once past it). */
const VERDICTS_KEPT = 4_096;
/** Longest peer + X-Forwarded-For pair kept (a few proxy hops): at most ~1 MB of keys in all. */
const VERDICT_KEY_MAX = 256;
const JSON_TYPE_HEADER = securedHeaders({ "content-type": "application/json" });
// A 413 is answered before the rest of the body is read: close rather than drain it.
const CLOSE_JSON = securedHeaders({ "content-type": "application/json", connection: "close" });

const tooLarge = (max: number): Answer => ({ status: 413, outcome: "too_large", body: { error: `body larger than ${max} bytes` } });
