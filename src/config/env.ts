import { CronExpressionParser } from "cron-parser";
import { z } from "zod";

// Helpers for reading environment strings. Every value arrives as a string (or is absent);
// an empty string counts as absent so `FOO=` in a Procfile env behaves like unset.

export const emptyToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

export const optionalString = () => z.preprocess(emptyToUndefined, z.string().optional());

export const stringWithDefault = (def: string) => z.preprocess(emptyToUndefined, z.string().default(def));

export const intInRange = (min: number, max: number, def: number) =>
  z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ error: `expected an integer from ${min} to ${max}` })
      .int({ error: `expected an integer from ${min} to ${max}` })
      .min(min, { error: `expected an integer from ${min} to ${max}` })
      .max(max, { error: `expected an integer from ${min} to ${max}` })
      .default(def),
  );

/** A comma-separated list; blanks are dropped. Absent means []. */
export const csvList = () =>
  z.preprocess(
    (v) =>
      typeof v === "string"
        ? v
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s.length > 0)
        : v === undefined
          ? []
          : v,
    z.array(z.string()),
  );

export const urlString = (protocols: string[], example: string) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol.replace(/:$/, ""));
      } catch {
        return false;
      }
    },
    { error: `expected a ${protocols.join("/")} URL like ${example}` },
  );

/** An optional URL of the given protocols; empty counts as unset. */
export const optionalUrl = (protocols: string[], example: string) => z.preprocess(emptyToUndefined, urlString(protocols, example).optional());

/**
 * A BullMQ scheduler pattern. BullMQ parses patterns with cron-parser; validating with the
 * same parser means a pattern that passes here is one BullMQ will run. A leading seconds
 * field is allowed.
 */
export const cronPattern = (def: string) =>
  stringWithDefault(def).pipe(
    z.string().refine(
      (v) => {
        try {
          CronExpressionParser.parse(v, { tz: "UTC" });
          return v.trim().split(/\s+/).length >= 5;
        } catch {
          return false;
        }
      },
      { error: 'expected a cron pattern like "0 3 1 * *" (minute hour day month weekday, optional leading seconds)' },
    ),
  );
