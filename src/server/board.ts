import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { HonoAdapter } from "@bull-board/hono";
import { serveStatic } from "@hono/node-server/serve-static";
import { type Context, Hono } from "hono";
import type { QueueSet } from "../queues/queue-set.js";
import type { AuditLog } from "./audit.js";
import { type OpsAuth, operatorForWrites, sameOrigin, signedIn } from "./auth/guard.js";
import type { AuthVariables } from "./auth/identity.js";
import { BOARD_ASSETS, boardAssetRoutes, selfHostedBoardPage } from "./board-assets.js";

export const BOARD_PATH = "/admin/queues";

export interface BoardDeps {
  queues: QueueSet;
  auth: OpsAuth;
  audit: AuditLog;
  ip: (c: Context) => string | undefined;
}

/**
 * A dead-letter queue has no workers by design (letters wait for an operator), so it answers
 * "not applicable" (null) where bull-board asks for workers: the board warns "No workers"
 * only for a real queue nobody consumes.
 */
class DeadLetterQueueAdapter extends BullMQAdapter {
  override async getWorkers(): Promise<null> {
    return null;
  }
}

/** One bull-board over every queue and its dead-letter queue, read-only or not. */
function bullBoard(queues: QueueSet, readOnlyMode: boolean, sso: boolean): Hono {
  const adapter = new HonoAdapter(serveStatic);
  const deadLetterQueues = new Set(queues.names.map((n) => queues.deadLetters(n)));
  createBullBoard({
    queues: queues.all().map((q) =>
      deadLetterQueues.has(q)
        ? new DeadLetterQueueAdapter(q, {
            readOnlyMode,
            description: "dead letters: no workers by design; replay on /admin/dead-letters or with npm run dlq",
          })
        : new BullMQAdapter(q, { readOnlyMode }),
    ),
    serverAdapter: adapter,
    options: {
      uiConfig: {
        boardTitle: "hookrail",
        miscLinks: [
          { text: "Dead letters", url: "/admin/dead-letters" },
          { text: "Flagged orders", url: "/admin/flagged-orders" },
          ...(sso ? [{ text: "Log out", url: "/admin/logout" }] : []),
        ],
      },
    },
  });
  adapter.setBasePath(BOARD_PATH);
  const board = new Hono();
  // Nothing the board needs comes from another host: fonts and the fetch shim are hookrail's.
  board.route(`/${BOARD_ASSETS}`, boardAssetRoutes());
  board.use("*", selfHostedBoardPage());
  board.route("/", adapter.registerPlugin());
  return new Hono().route(BOARD_PATH, board);
}

const QUEUE_VERBS = new Set(["add", "retry", "promote", "clean", "pause", "resume", "concurrency", "rate-limit", "empty", "obliterate", "job-schedulers"]);

/** A board API write as an audit action and target: `PUT .../api/queues/payments/ref-1/retry` → `board.job.retry`, `payments/ref-1`. */
export function boardAction(path: string): { action: string; target?: string } {
  const rest = path.slice(path.indexOf("/api/") + "/api/".length);
  const seg = rest.split("/").map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  if (seg[0] !== "queues" || seg.length < 2) return { action: `board.${seg.join(".")}` };
  if (seg.length === 2) return { action: `board.queues.${seg[1]}` };
  const queue = seg[1]!;
  if (QUEUE_VERBS.has(seg[2]!)) return { action: `board.queue.${seg[2]}`, target: [queue, ...seg.slice(3)].join("/") };
  return { action: `board.job.${seg.slice(3).join(".") || "?"}`, target: `${queue}/${seg[2]}` };
}

/**
 * bull-board behind the ops login. Operators get the full board, viewers bull-board's
 * read-only mode, and any write from a viewer is refused with 403 here before bull-board
 * sees it. Every write an operator makes is audited with its outcome.
 */
export function boardRoutes(deps: BoardDeps): Hono<{ Variables: AuthVariables }> {
  const sso = deps.auth.kind === "sso";
  const operator = bullBoard(deps.queues, false, sso);
  const viewer = bullBoard(deps.queues, true, sso);
  const app = new Hono<{ Variables: AuthVariables }>();
  const audit = async (c: Context<{ Variables: AuthVariables }>, result: string) => {
    const { action, target } = boardAction(c.req.path);
    await deps.audit.record({ actor: c.get("actor"), action, target, ip: deps.ip(c), result, detail: { method: c.req.method } });
  };
  app.use("*", signedIn(deps.auth), sameOrigin());
  app.use(
    "*",
    operatorForWrites((c) => audit(c, "refused")),
  );
  app.all("*", async (c) => {
    const board = c.get("actor").role === "operator" ? operator : viewer;
    const res = await board.fetch(c.req.raw, c.env);
    if (!["GET", "HEAD", "OPTIONS"].includes(c.req.method)) await audit(c, res.status < 400 ? "ok" : `http ${res.status}`);
    return res;
  });
  return app;
}
