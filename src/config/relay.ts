import { z } from "zod";

/** Settings of the relay feature (merged into the one config schema in ./index.ts). */
export const relaySchema = z.object({});
