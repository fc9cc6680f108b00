import type { z } from "zod";

/**
 * A zod error as the lines every 400 answer, dead letter and config error carries:
 * `path: message`, `(body)` when the whole value is wrong. At most 20, so one bad array
 * cannot make an answer huge.
 */
export function issuesOf(error: z.ZodError): string[] {
  return error.issues.slice(0, 20).map((i) => `${i.path.length ? i.path.join(".") : "(body)"}: ${i.message}`);
}
