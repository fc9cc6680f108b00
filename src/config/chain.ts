import { z } from "zod";

/** Settings of the chain feature (merged into the one config schema in ./index.ts). */
export const chainSchema = z.object({});
