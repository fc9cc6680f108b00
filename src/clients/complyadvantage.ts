import { z } from "zod";
import { callProvider, jsonBody, ProviderError } from "./http-error.js";

/**
 * ComplyAdvantage search API (POST /searches), as documented: the API key goes in the
 * `Authorization: Token <key>` header; the answer wraps the search in `content.data` with
 * its `hits`, each carrying `match_types` and the matched `doc`.
 */
export interface ScreeningSubject {
  investorId: string;
  fullName: string;
  birthYear: number;
}

export const SCREENING_TYPES = ["sanction", "warning", "fitness-probity", "pep"] as const;

const hitSchema = z
  .object({
    doc: z.object({ id: z.string(), name: z.string().optional(), types: z.array(z.string()).optional() }).loose(),
    match_types: z.array(z.string()),
    score: z.number().optional(),
  })
  .loose();

const searchResponseSchema = z.object({
  content: z.object({
    data: z
      .object({
        id: z.union([z.number(), z.string()]),
        ref: z.string().optional(),
        total_hits: z.number().optional(),
        hits: z.array(hitSchema).default([]),
      })
      .loose(),
  }),
});

export type ScreeningHit = z.infer<typeof hitSchema>;

export interface ScreeningResult {
  searchId: string;
  /** Hits that need a compliance officer's review (exact name or alias matches). */
  matches: ScreeningHit[];
  totalHits: number;
}

// The playbook treats exact name matches as alerts; an exact alias match is as strong.
const ALERTING_MATCH_TYPES = new Set(["name_exact", "aka_exact"]);

export interface ComplyAdvantageClient {
  search(subject: ScreeningSubject): Promise<ScreeningResult>;
}

export function createComplyAdvantageClient(opts: { baseUrl: string; apiKey: string; timeoutMs: number; fuzziness?: number }): ComplyAdvantageClient {
  const url = new URL("searches", opts.baseUrl.endsWith("/") ? opts.baseUrl : `${opts.baseUrl}/`);
  return {
    async search(subject) {
      const res = await callProvider(
        url,
        {
          method: "POST",
          headers: { authorization: `Token ${opts.apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({
            search_term: subject.fullName,
            client_ref: subject.investorId,
            fuzziness: opts.fuzziness ?? 0.7,
            filters: { birth_year: subject.birthYear, types: SCREENING_TYPES },
          }),
        },
        { provider: "ComplyAdvantage", timeoutMs: opts.timeoutMs, refused: "refused the search" },
      );
      const parsed = searchResponseSchema.safeParse(await jsonBody(res, "ComplyAdvantage"));
      if (!parsed.success) throw new ProviderError("ComplyAdvantage answer has an unexpected shape", "bad_response", true);
      const data = parsed.data.content.data;
      return {
        searchId: String(data.id),
        matches: data.hits.filter((h) => h.match_types.some((t) => ALERTING_MATCH_TYPES.has(t))),
        totalHits: data.total_hits ?? data.hits.length,
      };
    },
  };
}
