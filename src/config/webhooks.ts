import { z } from "zod";

/** Settings of the webhooks feature (merged into the one config schema in ./index.ts). */
export const webhooksSchema = z.object({});
