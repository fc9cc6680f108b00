// Dev-only: for `npm run dev`, tests and benchmarks; no production process loads src/dev (scripts/check-layers.mjs).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for the ComplyAdvantage search API, for tests and benchmarks (POST /searches), answering in the
 * documented envelope: `{code, status, content: {data: {id, ref, total_hits, hits: [...]}}}`
 * with each hit's `match_types` and `doc`. Names listed in `sanctioned` produce an exact
 * name match. `failing` makes it answer 503 until cleared.
 */
export interface ComplyAdvantageStub {
  url: string;
  apiKey: string;
  requests: { search_term: string; client_ref?: string; fuzziness: number; filters: { birth_year: number; types: string[] } }[];
  sanctioned: Set<string>;
  failing: boolean;
  delayMs: number;
  close(): Promise<void>;
}

export async function startComplyAdvantageStub(
  apiKey = "ca-test-key",
  opts: { delayMs?: number; recordRequests?: boolean } = {},
): Promise<ComplyAdvantageStub> {
  let nextId = 1000;
  const stub = { requests: [], sanctioned: new Set<string>(), failing: false, delayMs: opts.delayMs ?? 0, apiKey } as unknown as ComplyAdvantageStub;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const answer = (status: number, json: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      setTimeout(() => {
        if (req.method !== "POST" || req.url !== "/searches") return answer(404, { code: 404, status: "failure", message: "Not found" });
        if (req.headers.authorization !== `Token ${apiKey}`) return answer(401, { code: 401, status: "failure", message: "Invalid API key" });
        if (stub.failing) return answer(503, { code: 503, status: "failure", message: "Service unavailable" });
        const search = JSON.parse(body) as ComplyAdvantageStub["requests"][number];
        if (!search.search_term) return answer(400, { code: 400, status: "failure", message: "search_term is required" });
        if (opts.recordRequests !== false) stub.requests.push(search);
        const hit = stub.sanctioned.has(search.search_term);
        const id = nextId++;
        answer(200, {
          code: 200,
          status: "success",
          content: {
            data: {
              id,
              ref: `${id}-ref`,
              searcher_id: 1,
              client_ref: search.client_ref,
              search_term: search.search_term,
              match_status: hit ? "potential_match" : "no_match",
              risk_level: hit ? "high" : "low",
              total_hits: hit ? 1 : 0,
              filters: search.filters,
              hits: hit
                ? [
                    {
                      doc: { id: `DOC${id}`, name: search.search_term, types: ["sanction", "pep"], entity_type: "person" },
                      match_types: ["name_exact", "year_of_birth"],
                      score: 1.7,
                      is_whitelisted: false,
                    },
                  ]
                : [],
            },
          },
        });
      }, stub.delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () => new Promise((r) => server.close(() => r()));
  return stub;
}
