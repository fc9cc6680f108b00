/**
 * The one shape of every 400 the HTTP surface answers (webhooks and admin API alike): what is
 * wrong in a sentence, then each problem as `field: message`.
 */
export type InvalidBody = {
  error: string;
  issues: string[];
};

export const invalid = (error: string, issues: string[]): InvalidBody => ({ error, issues });
