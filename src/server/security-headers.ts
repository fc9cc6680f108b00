import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/**
 * The ops surface's security headers (Hono's secureHeaders). The CSP is the one the board works
 * under: scripts, fonts, data and the API only from hookrail itself (its page loads nothing from
 * another host, see board-assets.ts); inline styles allowed, since bull-board's page and its UI
 * library set style attributes. No framing (`frame-ancestors 'none'` and X-Frame-Options DENY:
 * the board has operator actions, which a framing page could click-jack), `nosniff`, and no
 * Referer, so job and dead-letter ids in board URLs do not leak to other sites.
 */
export function opsSecurityHeaders(): MiddlewareHandler {
  return secureHeaders({
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
  });
}
