import type { Context, MiddlewareHandler } from "hono";
import type { AuditLog } from "../audit.js";
import type { AuthVariables } from "../auth/identity.js";

const VERB: Record<string, string> = { PUT: "update", PATCH: "update", DELETE: "delete" };

/**
 * Every admin API write, audited after it ran: `POST /api/orders` → `api.orders.create` on
 * `orders/<referenceId>`; `POST /api/orders/ref-1/cancel` → `api.orders.cancel` on `orders/ref-1`.
 * The result is `ok` for 2xx, otherwise the status (`http 409`). Reads are not audited.
 */
export function auditWrites(audit: AuditLog, ip: (c: Context) => string | undefined): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    await next();
    if (["GET", "HEAD", "OPTIONS"].includes(c.req.method)) return;
    const seg = c.req.path.split("/").filter(Boolean).slice(1); // drop "api"
    const resource = seg[0] ?? "?";
    let verb = VERB[c.req.method] ?? (seg.length <= 1 ? "create" : seg.at(-1)!);
    let target = seg.slice(0, 2).join("/");
    if (seg.length <= 1 && c.res.status < 300) {
      const created = (await c.res
        .clone()
        .json()
        .catch(() => undefined)) as Record<string, unknown> | undefined;
      const id = created?.referenceId ?? created?.id ?? created?.transactionId;
      if (typeof id === "string") target = `${resource}/${id}`;
    }
    if (c.req.method === "POST" && seg.length === 2) verb = "create";
    await audit.record({
      actor: c.get("actor"),
      action: `api.${resource}.${verb}`,
      target,
      ip: ip(c),
      result: c.res.status < 300 ? "ok" : `http ${c.res.status}`,
      detail: c.get("auditDetail"),
    });
  };
}
