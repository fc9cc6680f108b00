import { z } from "zod";

// Helpers for reading environment strings. Every value arrives as a string (or is absent);
// an empty string counts as absent so `FOO=` in a Procfile env behaves like unset.

const emptyToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

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
