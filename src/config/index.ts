import { z } from "zod";
import { amlSchema } from "./aml.js";
import { baseSchema } from "./base.js";
import { chainConfigProblems, chainSchema } from "./chain.js";
import { custodyConfigProblems, custodySchema } from "./custody.js";
import { dividendsSchema } from "./dividends.js";
import { dvpConfigProblems, dvpSchema } from "./dvp.js";
import { csvList } from "./env.js";
import { kycConfigProblems, kycSchema } from "./kyc.js";
import { relaySchema } from "./relay.js";
import { sepaSchema } from "./sepa.js";
import { ssoConfigProblems, ssoSchema } from "./sso.js";
import { webhooksSchema } from "./webhooks.js";

/** One schema over the whole environment; each feature's section lives in its own file. */
export const configSchema = baseSchema
  .extend(webhooksSchema.shape)
  .extend(chainSchema.shape)
  .extend(relaySchema.shape)
  .extend(amlSchema.shape)
  .extend(dividendsSchema.shape)
  .extend(kycSchema.shape)
  .extend(sepaSchema.shape)
  .extend(custodySchema.shape)
  .extend(ssoSchema.shape)
  .extend(dvpSchema.shape);

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parse the environment once. Every problem is collected so an operator fixes them all in
 * one go. Values are never echoed back: several of them are secrets. `queueNames` (the
 * queue list, which lives above config) checks WORKER_QUEUES.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: { queueNames?: readonly string[] } = {}): Config {
  const known = opts.queueNames;
  // A field check, not a refinement of the whole: it is reported together with every other problem.
  const schema = known
    ? configSchema.extend({
        WORKER_QUEUES: csvList().pipe(
          z.array(z.string().refine((q) => known.includes(q), { error: `expected a comma-separated subset of: ${known.join(", ")}` })),
        ),
      })
    : configSchema;
  const result = schema.safeParse(env);
  if (result.success) {
    const problems = [
      ...chainConfigProblems(result.data),
      ...kycConfigProblems(result.data),
      ...custodyConfigProblems(result.data),
      ...ssoConfigProblems(result.data),
      ...dvpConfigProblems(result.data),
    ];
    if (problems.length === 0) return result.data;
    throw new ConfigError(problems);
  }
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join(".") || "(environment)";
    return `${name}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}
