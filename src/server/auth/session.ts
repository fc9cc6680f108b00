import { randomBytes } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import type { Actor } from "./identity.js";

export const SESSION_COOKIE = "hookrail_session";
const COOKIE_PATH = "/admin";

const storedSession = z.object({
  name: z.string(),
  kind: z.enum(["oidc", "saml"]),
  role: z.enum(["viewer", "operator"]),
  csrf: z.string(),
  expiresAt: z.number(),
});
export type Session = z.infer<typeof storedSession>;

export interface SessionOptions {
  redis: Redis | Cluster;
  /** Key prefix (the deployment's QUEUE_PREFIX), so deployments sharing a Redis keep apart. */
  prefix: string;
  secret: string;
  ttlMs: number;
  /** Off only in dev mode, where the board is served over plain http. */
  secure: boolean;
}

/**
 * Sessions of signed-in people. The cookie holds `<id>.<expiry>`, HMAC-signed, HttpOnly,
 * SameSite=Lax; the session itself lives in Redis under that id with the same expiry, so
 * logout ends it everywhere (a copied cookie stops working too) and a cookie whose signed
 * expiry has passed is refused even if the key were still there.
 */
export class Sessions {
  constructor(private readonly o: SessionOptions) {}

  private key = (id: string) => `${this.o.prefix}:session:${id}`;

  /** The common cookie attributes; `secure` and `sameSite` are what makes it a session cookie worth trusting. */
  cookieOptions(maxAgeSeconds: number, path = COOKIE_PATH) {
    return { path, httpOnly: true, secure: this.o.secure, sameSite: "Lax" as const, maxAge: maxAgeSeconds };
  }

  get secret(): string {
    return this.o.secret;
  }

  async create(c: Context, actor: Actor & { kind: "oidc" | "saml"; role: NonNullable<Actor["role"]> }): Promise<Session> {
    const id = randomBytes(24).toString("base64url");
    const session: Session = {
      name: actor.name,
      kind: actor.kind,
      role: actor.role,
      csrf: randomBytes(24).toString("base64url"),
      expiresAt: Date.now() + this.o.ttlMs,
    };
    await this.o.redis.set(this.key(id), JSON.stringify(session), "PX", this.o.ttlMs);
    await setSignedCookie(c, SESSION_COOKIE, `${id}.${session.expiresAt}`, this.o.secret, this.cookieOptions(Math.floor(this.o.ttlMs / 1000)));
    return session;
  }

  /** The request's live session; undefined for a missing, forged, expired or logged-out cookie. */
  async read(c: Context): Promise<Session | undefined> {
    const found = await this.find(c);
    return found?.session;
  }

  private async find(c: Context): Promise<{ id: string; session: Session } | undefined> {
    const value = await getSignedCookie(c, this.o.secret, SESSION_COOKIE);
    if (!value) return undefined;
    const m = /^([A-Za-z0-9_-]{32})\.(\d{1,16})$/.exec(value);
    if (!m) return undefined;
    const expiresAt = Number(m[2]);
    if (expiresAt <= Date.now()) return undefined;
    const raw = await this.o.redis.get(this.key(m[1]!));
    if (!raw) return undefined;
    const parsed = storedSession.safeParse(JSON.parse(raw));
    if (!parsed.success || parsed.data.expiresAt !== expiresAt) return undefined;
    return { id: m[1]!, session: parsed.data };
  }

  async destroy(c: Context): Promise<Session | undefined> {
    const found = await this.find(c);
    if (found) await this.o.redis.del(this.key(found.id));
    deleteCookie(c, SESSION_COOKIE, { path: COOKIE_PATH, secure: this.o.secure });
    return found?.session;
  }
}
