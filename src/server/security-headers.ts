import { Hono, type MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/**
 * The ops surface's security headers (Hono's secureHeaders). The CSP is the one the board works
 * under: scripts, fonts, data and the API only from hookrail itself (its page loads nothing from
 * another host, see board-assets.ts); inline styles allowed, since bull-board's page and its UI
 * library set style attributes. No framing (`frame-ancestors 'none'` and X-Frame-Options DENY:
 * the board has operator actions, which a framing page could click-jack), `nosniff`, and no
 * Referer, so job and dead-letter ids in board URLs do not leak to other sites.
 */
const OPTIONS: Parameters<typeof secureHeaders>[0] = {
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", "data:"],
    fontSrc: ["'self'"],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: "DENY",
  xContentTypeOptions: "nosniff",
  referrerPolicy: "no-referrer",
};

// The headers exactly as Hono's secureHeaders writes them with these options (none depends on
// the request: no nonce), read once from one answer of it. Setting them per request through
// Hono's middleware costs a WHATWG Headers object and a dozen validated `set`s per answer,
// about a tenth of a webhook's CPU in the web process (BENCHMARKS.md, "Receiver cost, second pass").
const probe = await new Hono()
  .use(secureHeaders(OPTIONS))
  .get("/", (c) => c.body(null))
  .request("/");
const HEADERS: readonly (readonly [string, string])[] = [...probe.headers];

/** The security headers as a plain record. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze(Object.fromEntries(HEADERS));

const secured = new WeakSet<Response>();

/** A route's answer headers: the security headers and `own` (content type, ...), built once, for `securedResponse`. */
export const securedHeaders = (own: Record<string, string>): Readonly<Record<string, string>> => Object.freeze({ ...SECURITY_HEADERS, ...own });

/**
 * An answer whose headers (from `securedHeaders`) already hold the security headers, in a
 * plain record: the middleware below leaves it as it is, and @hono/node-server writes such a
 * response without building a Headers object. For hot routes (the webhook receivers).
 */
export function securedResponse(body: string, status: number, headers: Readonly<Record<string, string>>): Response {
  const res = new Response(body, { status, headers });
  secured.add(res);
  return res;
}

/** Every answer gets the security headers (and no X-Powered-By), as Hono's secureHeaders does. */
export function opsSecurityHeaders(): MiddlewareHandler {
  return async function opsSecurityHeaders(c, next) {
    await next();
    if (secured.has(c.res)) return;
    const headers = c.res.headers;
    for (const [name, value] of HEADERS) headers.set(name, value);
    headers.delete("X-Powered-By");
  };
}
