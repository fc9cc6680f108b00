// Dev-only: for `npm run dev`, tests and benchmarks; no production process loads src/dev (scripts/check-layers.mjs).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes, randomUUID } from "node:crypto";

/**
 * A local stand-in for Jumio's KYX token, account and retrieval APIs (https://documentation.jumio.ai):
 * `POST /oauth2/token` takes HTTP Basic client credentials and the form `grant_type=
 * client_credentials`, answering `{access_token, expires_in, token_type: "Bearer"}` (400 for
 * another grant, 403 for wrong credentials, as documented); `GET /api/v1/accounts/{accountId}/
 * workflow-executions/{workflowExecutionId}` needs `Authorization: Bearer <token>` (401
 * without a valid one, 404 for an unknown execution). `POST /api/v1/accounts` (Bearer, and a
 * User-Agent as Jumio requires) takes `{customerInternalReference, userReference?,
 * tokenLifetime?, workflowDefinition: {key}}` and answers 200 `{timestamp, account {id}, web {href}, sdk {token},
 * workflowExecution {id, credentials}}`, the execution then INITIATED in the retrieval API; 400
 * for a missing or invalid reference or key. The real account API is another host; here one
 * server answers both (`url`). `expiresIn` sets the token lifetime; `revokeTokens()` makes every
 * issued token invalid. Tests put executions in the map; `accounts` counts what was created.
 */
export interface JumioStub {
  /** Base of both APIs; the token URL is `${url}/oauth2/token`. */
  url: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  executions: Map<string, Record<string, unknown>>;
  /** Accounts created by `POST /api/v1/accounts`: id -> the request's references and its execution. */
  accounts: Map<
    string,
    { customerInternalReference: string; userReference?: string; workflowExecutionId: string; workflowKey: unknown; tokenLifetime?: string }
  >;
  tokenRequests: number;
  retrievals: number;
  expiresIn: number;
  revokeTokens(): void;
  close(): Promise<void>;
}

export async function startJumioStub(clientId = "jumio-client-id", clientSecret = "jumio-client-secret"): Promise<JumioStub> {
  const tokens = new Set<string>();
  const stub = {
    clientId,
    clientSecret,
    executions: new Map(),
    accounts: new Map(),
    tokenRequests: 0,
    retrievals: 0,
    expiresIn: 3600,
    revokeTokens: () => tokens.clear(),
  } as unknown as JumioStub;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0]!;
      const answer = (status: number, json: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      if (req.method === "POST" && path === "/oauth2/token") {
        stub.tokenRequests += 1;
        if (new URLSearchParams(body).get("grant_type") !== "client_credentials") return answer(400, { error: "unsupported_grant_type" });
        const expected = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`;
        if (req.headers.authorization !== expected) return answer(403, { error: "invalid_client" });
        const token = randomBytes(24).toString("base64url");
        tokens.add(token);
        return answer(200, { access_token: token, expires_in: stub.expiresIn, token_type: "Bearer" });
      }
      const bearerOk = () => {
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
        return bearer !== undefined && tokens.has(bearer);
      };
      if (req.method === "POST" && path === "/api/v1/accounts") {
        if (!bearerOk()) return answer(401, { message: "Unauthorized" });
        if (!req.headers["user-agent"]) return answer(400, { message: "User-Agent header is required" });
        let b: { customerInternalReference?: unknown; userReference?: unknown; tokenLifetime?: unknown; workflowDefinition?: { key?: unknown } };
        try {
          b = JSON.parse(body) as typeof b;
        } catch {
          return answer(400, { message: "Malformed JSON" });
        }
        const ref = b.customerInternalReference;
        if (typeof ref !== "string" || ref.length < 1 || ref.length > 100 || /[<>"/;`%{}|]/.test(ref))
          return answer(400, { message: "customerInternalReference is invalid" });
        if (b.tokenLifetime !== undefined && (typeof b.tokenLifetime !== "string" || !/^([+-]?\d+)([smhd])$/.test(b.tokenLifetime))) {
          return answer(400, { message: "tokenLifetime is invalid" });
        }
        const workflowKey = b.workflowDefinition?.key;
        if (workflowKey === undefined) return answer(400, { message: "workflowDefinition.key is required" });
        const accountId = randomUUID();
        const workflowExecutionId = randomUUID();
        const userReference = typeof b.userReference === "string" ? b.userReference : undefined;
        stub.accounts.set(accountId, {
          customerInternalReference: ref,
          userReference,
          workflowExecutionId,
          workflowKey,
          tokenLifetime: b.tokenLifetime as string | undefined,
        });
        const { decision: _decision, completedAt: _completedAt, ...execution } = jumioExecution(accountId, workflowExecutionId, "", userReference);
        execution.workflow = { ...execution.workflow, status: "INITIATED", customerInternalReference: ref, definitionKey: String(workflowKey) };
        stub.executions.set(`${accountId}/${workflowExecutionId}`, execution);
        const token = randomBytes(24).toString("base64url");
        return answer(200, {
          timestamp: new Date().toISOString(),
          account: { id: accountId },
          web: { href: `https://hookrail.web.amer-1.jumio.ai/web/v4/app?authorizationToken=${token}&locale=en-US` },
          sdk: { token },
          workflowExecution: { id: workflowExecutionId, credentials: [{ id: randomUUID(), category: "ID", allowedChannels: ["WEB", "API", "SDK"] }] },
        });
      }
      const m = /^\/api\/v1\/accounts\/([^/]+)\/workflow-executions\/([^/]+)$/.exec(path);
      if (req.method === "GET" && m) {
        if (!bearerOk()) return answer(401, { message: "Unauthorized" });
        stub.retrievals += 1;
        const execution = stub.executions.get(`${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`);
        return execution ? answer(200, execution) : answer(404, { message: "Not Found" });
      }
      answer(404, { message: "Not Found" });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.tokenUrl = `${stub.url}/oauth2/token`;
  stub.close = () => new Promise((r) => server.close(() => r()));
  return stub;
}

/** Workflow details shaped like the documented retrieval answer, for tests and dev. */
export function jumioExecution(accountId: string, workflowExecutionId: string, decision: string, userReference?: string) {
  return {
    workflow: { id: workflowExecutionId, status: "PROCESSED", definitionKey: "10011", userReference, customerInternalReference: `ref-${workflowExecutionId}` },
    account: { id: accountId },
    createdAt: "2021-01-20T14:00:00.000Z",
    startedAt: "2021-01-20T14:00:05.000Z",
    completedAt: "2021-01-20T14:01:29.000Z",
    credentials: [],
    decision: { type: decision, details: { label: decision === "PASSED" ? "OK" : decision } },
    capabilities: {},
  };
}
