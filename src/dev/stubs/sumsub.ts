// Dev-only: for `npm run dev`, tests and benchmarks; no production process loads src/dev (scripts/check-layers.mjs).
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for the part of Sumsub's API (https://docs.sumsub.com/reference) hookrail
 * calls. Every request must carry X-App-Token, X-App-Access-Ts (seconds, within 60 s of now)
 * and X-App-Access-Sig, the lowercase hex HMAC-SHA256 of ts + METHOD + path?query + body with
 * the secret key (https://docs.sumsub.com/reference/authentication); otherwise 401. Errors
 * answer `{description, code, correlationId}` as Sumsub documents them.
 *
 * - `POST /resources/applicants?levelName=` creates an applicant (201); an externalUserId that
 *   exists answers 409, as Sumsub keeps it unique per client.
 * - `GET /resources/applicants/-;externalUserId={id}/one` and `GET /resources/applicants/{id}/one`.
 * - `GET /resources/applicants/{id}/status`: the review (`reviews` map; `init` when unset).
 * - `POST /resources/sdkIntegrations/levels/-/websdkLink` `{levelName, userId, ttlInSecs}` -> `{url}`.
 *
 * `failNext = n` answers the next n signed requests 503. `created` counts applicants created.
 */
export interface SumsubStub {
  url: string;
  appToken: string;
  secretKey: string;
  applicants: Map<string, { id: string; externalUserId: string; levelName: string; createdAt: string; fixedInfo: unknown }>;
  /** Review state by applicant id, as `GET .../status` answers it. */
  reviews: Map<string, Record<string, unknown>>;
  requests: { method: string; path: string; status: number }[];
  created: number;
  failNext: number;
  close(): Promise<void>;
}

const sumsubTime = (d: Date) =>
  d
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "+0000");

export async function startSumsubStub(appToken = "sbx:sumsub-app-token", secretKey = randomBytes(16).toString("hex")): Promise<SumsubStub> {
  const stub = { appToken, secretKey, applicants: new Map(), reviews: new Map(), requests: [], created: 0, failNext: 0 } as unknown as SumsubStub;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const pathWithQuery = req.url ?? "/";
      const [path, query = ""] = pathWithQuery.split("?") as [string, string?];
      const answer = (status: number, json: unknown) => {
        stub.requests.push({ method: req.method ?? "", path, status });
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      const fail = (code: number, description: string) => answer(code, { description, code, correlationId: `req-${randomBytes(8).toString("hex")}` });
      const ts = String(req.headers["x-app-access-ts"] ?? "");
      const sig = String(req.headers["x-app-access-sig"] ?? "");
      const expected = createHmac("sha256", secretKey).update(`${ts}${req.method}${pathWithQuery}${body}`).digest("hex");
      const fresh = /^\d+$/.test(ts) && Math.abs(Date.now() / 1000 - Number(ts)) <= 60;
      if (req.headers["x-app-token"] !== appToken || !fresh || sig.length !== expected.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(expected))) {
        return fail(401, "Request signature mismatch");
      }
      if (stub.failNext > 0) {
        stub.failNext -= 1;
        return fail(503, "Service temporarily unavailable");
      }
      const json = () => {
        try {
          return JSON.parse(body) as Record<string, unknown>;
        } catch {
          return undefined;
        }
      };
      if (req.method === "POST" && path === "/resources/applicants") {
        const levelName = new URLSearchParams(query).get("levelName");
        const b = json();
        const externalUserId = typeof b?.externalUserId === "string" ? b.externalUserId : undefined;
        if (!levelName || !externalUserId) return fail(400, "levelName and externalUserId are required");
        const taken = [...stub.applicants.values()].find((a) => a.externalUserId === externalUserId);
        if (taken) return fail(409, `Applicant with external user id '${externalUserId}' already exists: ${taken.id}`);
        const applicant = { id: randomBytes(12).toString("hex"), externalUserId, levelName, createdAt: sumsubTime(new Date()), fixedInfo: b?.fixedInfo };
        stub.applicants.set(applicant.id, applicant);
        stub.created += 1;
        return answer(201, {
          ...applicant,
          clientId: "hookrail",
          inspectionId: randomBytes(12).toString("hex"),
          review: { reviewStatus: "init" },
          type: "individual",
        });
      }
      const one = /^\/resources\/applicants\/([^/]+)\/one$/.exec(path);
      if (req.method === "GET" && one) {
        const key = decodeURIComponent(one[1]!);
        const ext = /^-;externalUserId=(.+)$/.exec(key)?.[1];
        const found = ext ? [...stub.applicants.values()].find((a) => a.externalUserId === ext) : stub.applicants.get(key);
        return found ? answer(200, { ...found, review: stub.reviews.get(found.id) ?? { reviewStatus: "init" } }) : fail(404, "Applicant not found");
      }
      const status = /^\/resources\/applicants\/([^/]+)\/status$/.exec(path);
      if (req.method === "GET" && status) {
        const id = decodeURIComponent(status[1]!);
        if (!stub.applicants.has(id)) return fail(404, "Applicant not found");
        return answer(
          200,
          stub.reviews.get(id) ?? { reviewStatus: "init", createDate: stub.applicants.get(id)!.createdAt, levelName: stub.applicants.get(id)!.levelName },
        );
      }
      if (req.method === "POST" && path === "/resources/sdkIntegrations/levels/-/websdkLink") {
        const b = json();
        if (typeof b?.levelName !== "string" || typeof b.userId !== "string") return fail(400, "levelName and userId are required");
        return answer(200, { url: `https://in.sumsub.com/websdk/p/${randomBytes(12).toString("base64url")}` });
      }
      fail(404, "Not found");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () => new Promise((r) => server.close(() => r()));
  return stub;
}

/** A completed review as `GET /resources/applicants/{id}/status` documents it, for tests and dev. */
export function sumsubCompletedReview(answer: "GREEN" | "RED", at: Date, rejectType?: "RETRY" | "FINAL") {
  return {
    reviewId: randomBytes(4).toString("hex"),
    attemptId: randomBytes(4).toString("hex"),
    attemptCnt: 1,
    levelName: "basic-kyc-level",
    createDate: sumsubTime(new Date(at.getTime() - 60_000)),
    reviewDate: sumsubTime(at),
    reviewResult: { reviewAnswer: answer, ...(rejectType ? { reviewRejectType: rejectType, rejectLabels: ["UNSATISFACTORY_PHOTOS"] } : {}) },
    reviewStatus: "completed",
    priority: 0,
  };
}
