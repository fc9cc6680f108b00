import { z } from "zod";

/** Settings of the schedules feature (merged into the one config schema in ./index.ts). */
export const schedulesSchema = z.object({});
