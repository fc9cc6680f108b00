// Dev-only: for `npm run dev`, tests and benchmarks; no production process loads src/dev (scripts/check-layers.mjs).
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { XMLParser } from "fast-xml-parser";

/**
 * A local stand-in for a bank's payment-file upload API (the shape corporate banking APIs
 * give their EBICS-style file channel): `POST /payment-files` with the pain.008 XML as the
 * body, `Content-Type: application/xml` and `Authorization: Bearer <key>`. A new file answers
 * 201 `{fileId, messageId, status: "RECEIVED", numberOfTransactions, controlSum}`; a file whose
 * `GrpHdr/MsgId` the bank already has answers 409 `{error: {code: "DUPLICATE_MESSAGE_ID"}}` and
 * is not stored again; XML that does not parse, or has no MsgId, answers 400.
 * `GET /payment-files?messageId=` answers the stored file's record (404 when unknown).
 * `failNext = n` makes the next n uploads answer 503; `holdUploads` makes the bank take a new
 * file and never answer (a client that dies waiting has submitted without knowing it). Every
 * upload is kept in `uploads` (status 0: not answered).
 */
export interface SepaBankStub {
  url: string;
  apiKey: string;
  uploads: { status: number; messageId: string | undefined; body: string }[];
  /** Accepted files by MsgId. */
  files: Map<string, { fileId: string; body: string }>;
  failNext: number;
  holdUploads: boolean;
  close(): Promise<void>;
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, removeNSPrefix: true });

export async function startSepaBankStub(apiKey = "sepa-bank-test-key"): Promise<SepaBankStub> {
  let nextId = 1;
  const stub = { apiKey, uploads: [], files: new Map(), failNext: 0, holdUploads: false } as unknown as SepaBankStub;
  const held = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://bank");
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      const error = (status: number, code: string, message: string) => json(status, { error: { code, message } });
      if (url.pathname !== "/payment-files") return error(404, "NOT_FOUND", "Not found");
      if (req.headers.authorization !== `Bearer ${apiKey}`) return error(401, "UNAUTHORIZED", "Invalid or missing bearer token");
      if (req.method === "GET") {
        const msgId = url.searchParams.get("messageId") ?? "";
        const file = stub.files.get(msgId);
        return file ? json(200, { fileId: file.fileId, messageId: msgId, status: "RECEIVED" }) : error(404, "NOT_FOUND", "No file with this messageId");
      }
      if (req.method !== "POST") return error(405, "METHOD_NOT_ALLOWED", "Use POST or GET");
      const record = (status: number, messageId?: string) => stub.uploads.push({ status, messageId, body });
      if (stub.failNext > 0) {
        stub.failNext -= 1;
        record(503);
        return error(503, "UNAVAILABLE", "Service temporarily unavailable");
      }
      if (!/^application\/xml\b/i.test(req.headers["content-type"] ?? "")) {
        record(415);
        return error(415, "UNSUPPORTED_MEDIA_TYPE", "Expected application/xml");
      }
      let header: { MsgId?: string; NbOfTxs?: string; CtrlSum?: string } | undefined;
      try {
        header = (parser.parse(body, true) as { Document?: { CstmrDrctDbtInitn?: { GrpHdr?: typeof header } } }).Document?.CstmrDrctDbtInitn?.GrpHdr;
      } catch {
        header = undefined;
      }
      const messageId = header?.MsgId;
      if (!messageId) {
        record(400);
        return error(400, "INVALID_FILE", "Not a pain.008 document with a GrpHdr/MsgId");
      }
      const seen = stub.files.get(messageId);
      const hold = !seen && stub.holdUploads;
      record(seen ? 409 : hold ? 0 : 201, messageId);
      if (seen) return error(409, "DUPLICATE_MESSAGE_ID", `A file with MsgId ${messageId} was already received`);
      const fileId = `PF-${String(nextId++).padStart(6, "0")}`;
      stub.files.set(messageId, { fileId, body });
      if (hold) {
        held.add(res);
        res.on("close", () => held.delete(res));
        return;
      }
      json(201, { fileId, messageId, status: "RECEIVED", numberOfTransactions: header?.NbOfTxs, controlSum: header?.CtrlSum });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise<void>((resolve) => {
      for (const res of held) res.destroy();
      server.close(() => resolve());
    });
  return stub;
}
