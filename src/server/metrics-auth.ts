import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * `/metrics` on the web port is the port providers post to, so it takes a bearer token
 * (METRICS_TOKEN; Prometheus sends it with `authorization: {credentials: ...}`). Every missing,
 * malformed or wrong token is a 401; compared as SHA-256 digests in constant time.
 */
export function metricsAuth(token: string): MiddlewareHandler {
  const expected = digest(token);
  return async (c, next) => {
    const match = /^Bearer +(\S+) *$/i.exec(c.req.header("authorization") ?? "");
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      return c.json({ error: "missing or wrong bearer token (METRICS_TOKEN)" }, 401, { "www-authenticate": 'Bearer realm="hookrail-metrics"' });
    }
    await next();
  };
}
