import { z } from "zod";
import { baseSchema } from "./base.js";
import { chainSchema } from "./chain.js";
import { relaySchema } from "./relay.js";
import { schedulesSchema } from "./schedules.js";
import { webhooksSchema } from "./webhooks.js";

/** One schema over the whole environment; each feature's section lives in its own file. */
export const configSchema = baseSchema
  .extend(webhooksSchema.shape)
  .extend(chainSchema.shape)
  .extend(relaySchema.shape)
  .extend(schedulesSchema.shape);

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
      problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

/**
 * Parse the environment once. Every problem is collected so an operator fixes them all in
 * one go. Values are never echoed back: several of them are secrets.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join(".") || "(environment)";
    return `${name}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}
