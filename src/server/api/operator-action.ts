import type { Context } from "hono";
import type { AuthVariables } from "../auth/identity.js";
import { identifier, parseBody, reasonInput } from "./validation.js";

/** What an operator action answers: done (`T`), no such target, or why nothing changed. */
export type ActionOutcome<T> = T | { missing: true } | { conflict: string };

export interface OperatorActionOptions<T> {
  /** The route parameter naming the target. */
  param: string;
  /** The 404 error for a target that does not exist. */
  notFound: string;
  /** The action, given the target's id and the operator's reason. */
  run(id: string, reason: string): Promise<ActionOutcome<T>>;
  /** The 200 body of a done action. */
  answer(id: string, done: T): Record<string, unknown>;
}

/**
 * `POST .../:<param>/<action>` with `{"reason": "..."}`, the shape of every operator action on
 * one target: an invalid id is 404, a missing or empty reason 400 (nothing runs), the reason
 * goes to the audit row, then `run` decides: 404, 409 with its words, or 200 with `answer`.
 */
export function operatorAction<T extends object>(opts: OperatorActionOptions<T>) {
  return async (c: Context<{ Variables: AuthVariables }>) => {
    const id = identifier.safeParse(c.req.param(opts.param));
    if (!id.success) return c.json({ error: opts.notFound }, 404);
    const parsed = await parseBody(c, reasonInput);
    if ("response" in parsed) return parsed.response;
    c.set("auditDetail", { reason: parsed.data.reason });
    const outcome = await opts.run(id.data, parsed.data.reason);
    if ("missing" in outcome) return c.json({ error: opts.notFound }, 404);
    if ("conflict" in outcome) return c.json({ error: outcome.conflict }, 409);
    return c.json(opts.answer(id.data, outcome as T));
  };
}
