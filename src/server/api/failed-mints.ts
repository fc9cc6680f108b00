import type { Context } from "hono";
import type { AuthVariables } from "../auth/identity.js";
import { identifier, parseBody, reasonInput } from "./validation.js";

/** What the order processors answer a retry of a failed mint (see retryFailedMint there). */
export type RetryOutcome = { retry: number } | { conflict: string } | { missing: true };

/** `POST /orders/:referenceId/retry-mint` with `{"reason": "..."}`: 200 `{referenceId, status: "minting", retry}`. */
export function retryMintHandler(retryMint: (ref: string) => Promise<RetryOutcome>) {
  return async (c: Context<{ Variables: AuthVariables }>) => {
    const ref = identifier.safeParse(c.req.param("referenceId"));
    if (!ref.success) return c.json({ error: "no such order" }, 404);
    const parsed = await parseBody(c, reasonInput);
    if ("response" in parsed) return parsed.response;
    c.set("auditDetail", { reason: parsed.data.reason });
    const outcome = await retryMint(ref.data);
    if ("missing" in outcome) return c.json({ error: "no such order" }, 404);
    if ("conflict" in outcome) return c.json({ error: outcome.conflict }, 409);
    return c.json({ referenceId: ref.data, status: "minting", retry: outcome.retry });
  };
}
