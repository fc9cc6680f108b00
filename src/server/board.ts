import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { HonoAdapter } from "@bull-board/hono";
import { serveStatic } from "@hono/node-server/serve-static";
import { Hono } from "hono";
import { basicAuth } from "hono/basic-auth";
import type { QueueSet } from "../queues/queue-set.js";
import { BOARD_ASSETS, boardAssetRoutes, selfHostedBoardPage } from "./board-assets.js";

export const BOARD_PATH = "/admin/queues";

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

/** bull-board over every queue and its dead-letter queue, behind basic auth. */
export function boardRoutes(queues: QueueSet, credentials: { username: string; password: string }): Hono {
  const adapter = new HonoAdapter(serveStatic);
  const deadLetterQueues = new Set(queues.names.map((n) => queues.deadLetters(n)));
  createBullBoard({
    queues: queues
      .all()
      .map((q) =>
        deadLetterQueues.has(q)
          ? new DeadLetterQueueAdapter(q, { readOnlyMode: false, description: "dead letters: no workers by design; replay with npm run dlq" })
          : new BullMQAdapter(q, { readOnlyMode: false }),
      ),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: "hookrail" } },
  });
  adapter.setBasePath(BOARD_PATH);
  const app = new Hono();
  app.use("*", basicAuth({ username: credentials.username, password: credentials.password, realm: "hookrail" }));
  // Nothing the board needs comes from another host: fonts and the fetch shim are hookrail's.
  app.route(`/${BOARD_ASSETS}`, boardAssetRoutes());
  app.use("*", selfHostedBoardPage());
  app.route("/", adapter.registerPlugin());
  return app;
}
