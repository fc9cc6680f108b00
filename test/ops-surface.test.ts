import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUEUE_NAMES } from "../src/processes/queue-modules.js";
import { startStack, type TestStack } from "./helpers/stack.js";

const BOARD_AUTH = { authorization: `Basic ${Buffer.from("ops:board-pass-123").toString("base64")}` };

// The ops surface of a listening web process: the board, /metrics, headers and body limits.
describe("ops surface", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack("ops_surface", { env: { BOARD_USERNAME: "ops", BOARD_PASSWORD: "board-pass-123" }, web: true });
  });
  afterAll(() => stack?.close());

  it("warns 'No workers' only for real queues nobody consumes, never for a dead-letter queue", async () => {
    // This web process runs no workers: every real queue lacks them; the dead-letter queues have none by design.
    const res = await fetch(`${stack.base}/admin/queues/api/queues`, { headers: BOARD_AUTH });
    expect(res.status).toBe(200);
    const queues = ((await res.json()) as { queues: { name: string; hasWorkers: boolean | null }[] }).queues;
    expect(queues).toHaveLength(QUEUE_NAMES.length * 2);
    for (const q of queues) {
      // bull-board's UI shows the warning exactly when hasWorkers === false.
      if (q.name.endsWith("-dlq")) expect(q.hasWorkers, q.name).toBeNull();
      else expect(q.hasWorkers, q.name).toBe(false);
    }
  });
});
