import type { Context } from "hono";
import { Hono } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import * as oidc from "openid-client";
import { z } from "zod";
import type { Logger } from "../../log.js";
import type { AuditLog } from "../audit.js";
import { messagePage, safeReturnTo } from "./pages.js";
import type { Sessions } from "./session.js";
import { completeSignIn } from "./sign-in.js";

export interface OidcSettings {
  issuerUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUrl: string;
  scopes: string;
  rolesClaim: string;
  roles: { viewer: readonly string[]; operator: readonly string[] };
}

export interface OidcDeps {
  settings: OidcSettings;
  sessions: Sessions;
  audit: AuditLog;
  log: Logger;
  ip: (c: Context) => string | undefined;
}

const LOGIN_COOKIE = "hookrail_login";
const LOGIN_COOKIE_PATH = "/admin/auth";
const pendingLogin = z.object({ state: z.string(), nonce: z.string(), verifier: z.string(), returnTo: z.string() });

/**
 * OpenID Connect login (authorization code + PKCE, state and nonce) with openid-client. The
 * issuer is discovered on first use, not at startup, so the web process serves webhooks while
 * the IdP is down. ID tokens are verified against the issuer's JWKS (non-repudiation checks
 * on), besides the issuer, audience, expiry and nonce checks openid-client always does.
 */
export function oidcRoutes(deps: OidcDeps): Hono {
  const s = deps.settings;
  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = () => {
    discovered ??= oidc
      .discovery(new URL(s.issuerUrl), s.clientId, s.clientSecret, undefined, {
        // Plain http only for an http issuer, which config allows for local and test IdPs.
        execute: [oidc.enableNonRepudiationChecks, ...(s.issuerUrl.startsWith("http:") ? [oidc.allowInsecureRequests] : [])],
      })
      .catch((err: unknown) => {
        discovered = undefined;
        throw err;
      });
    return discovered;
  };
  const app = new Hono();

  app.get("/login", async (c) => {
    let config: oidc.Configuration;
    try {
      config = await configuration();
    } catch (err) {
      deps.log.warn({ err: (err as Error).message, issuer: s.issuerUrl }, "OIDC discovery failed");
      return c.html(messagePage("Sign-in unavailable", "The identity provider could not be reached. Try again shortly."), 503);
    }
    const verifier = oidc.randomPKCECodeVerifier();
    const pending = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier, returnTo: safeReturnTo(c.req.query("returnTo")) };
    await setSignedCookie(c, LOGIN_COOKIE, JSON.stringify(pending), deps.sessions.secret, deps.sessions.cookieOptions(600, LOGIN_COOKIE_PATH));
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: s.redirectUrl,
      scope: s.scopes,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state: pending.state,
      nonce: pending.nonce,
    });
    return c.redirect(url.href, 302);
  });

  app.get("/auth/callback", async (c) => {
    const raw = await getSignedCookie(c, deps.sessions.secret, LOGIN_COOKIE);
    deleteCookie(c, LOGIN_COOKIE, { path: LOGIN_COOKIE_PATH });
    const pending = raw ? pendingLogin.safeParse(JSON.parse(raw)) : undefined;
    if (!pending?.success)
      return c.html(messagePage("Sign-in expired", 'The sign-in took too long or was started elsewhere. <a href="/admin/login">Sign in again</a>.', true), 400);
    let claims: oidc.IDToken | undefined;
    try {
      const config = await configuration();
      // The URL the IdP redirected to, as registered (the request may arrive through a proxy).
      const current = new URL(s.redirectUrl);
      current.search = new URL(c.req.url).search;
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.data.verifier,
        expectedState: pending.data.state,
        expectedNonce: pending.data.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, "OIDC sign-in refused");
      return c.html(messagePage("Sign-in failed", 'The identity provider\'s answer could not be verified. <a href="/admin/login">Try again</a>.', true), 401);
    }
    if (!claims) return c.html(messagePage("Sign-in failed", "No ID token."), 401);
    const name = typeof claims.email === "string" ? claims.email : claims.sub;
    return completeSignIn(c, deps, { name, kind: "oidc", groups: claims[s.rolesClaim] }, s.roles, { to: pending.data.returnTo, status: 302 });
  });

  return app;
}
