import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import Provider, { type Configuration } from "oidc-provider";

/** A person the local IdP knows. */
export interface DevOidcUser {
  username: string;
  password: string;
  email: string;
  groups: string[];
}

export interface DevOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  users: DevOidcUser[];
  close(): Promise<void>;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const loginPage = (uid: string, error?: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dev IdP sign-in</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 24rem; margin: 4rem auto">
<h1>Dev identity provider</h1>${error ? `<p role="alert">${escapeHtml(error)}</p>` : ""}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>Username <input name="login" autocomplete="username" required></label><br>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label><br>
<button type="submit">Sign in</button></form></body></html>`;

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16_384) throw new Error("form too large");
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/**
 * A real OpenID Connect provider (panva's oidc-provider) for dev mode and tests: one
 * confidential client for hookrail, users with passwords and groups (`groups` claim in the
 * ID token), PKCE required, RS256 keys made up at start. Consent is implied. Dev-only.
 */
export async function startDevOidcProvider(opts: {
  redirectUrl: string;
  users: DevOidcUser[];
  port?: number;
  /** The issuer it names itself, when it is reached through a proxy (tests); default its own address. */
  issuer?: string;
}): Promise<DevOidcProvider & { url: string }> {
  const clientId = "hookrail-dev";
  const clientSecret = randomBytes(24).toString("base64url");
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = opts.issuer ?? url;
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), alg: "RS256", use: "sig", kid: randomBytes(6).toString("hex") };
  const byName = new Map(opts.users.map((u) => [u.username, u]));
  const config: Configuration = {
    clients: [
      { client_id: clientId, client_secret: clientSecret, redirect_uris: [opts.redirectUrl], grant_types: ["authorization_code"], response_types: ["code"] },
    ],
    jwks: { keys: [jwk as never] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], groups: ["groups"] },
    scopes: ["openid", "email", "profile", "groups", "offline_access"],
    // Put the scopes' claims in the ID token, where hookrail reads the roles claim.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 86_400, Grant: 86_400 },
    findAccount: (_ctx, id) => {
      const user = byName.get(id);
      if (!user) return undefined;
      return { accountId: id, claims: () => ({ sub: id, email: user.email, email_verified: true, name: user.username, groups: user.groups }) };
    },
  };
  const provider = new Provider(issuer, config);
  const callback = provider.callback();

  server.on("request", (req, res) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(req.url?.split("?")[0] ?? "");
    if (!m) return void callback(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      if (m[2] && req.method === "POST") {
        const form = await readForm(req);
        const user = byName.get(form.get("login") ?? "");
        if (!user || user.password !== form.get("password")) {
          res.writeHead(401, { "content-type": "text/html; charset=utf-8" }).end(loginPage(m[1]!, "Wrong username or password."));
          return;
        }
        await provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
        return;
      }
      if (details.prompt.name === "login") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(loginPage(m[1]!));
        return;
      }
      // Consent: granted for what hookrail asked.
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      const grant = details.grantId
        ? ((await provider.Grant.find(details.grantId)) ??
          new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) }))
        : new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(400, { "content-type": "text/plain" });
      res.end(`interaction failed: ${(err as Error).message}`);
    });
  });

  return {
    issuer,
    url,
    clientId,
    clientSecret,
    users: opts.users,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
