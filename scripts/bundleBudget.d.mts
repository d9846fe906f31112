// Types for scripts/bundleBudget.mjs (imported by the unit tests).
export interface Budget {
  bundle: number;
  package: number;
  input: number;
}
export const BUDGETS: { development: Budget; production: Budget };
export function owner(input: string): string;
export interface Metafile {
  outputs: Record<string, { bytes: number; inputs: Record<string, { bytesInOutput: number }> }>;
}
export function checkBundles(metafile: Metafile, budget: Budget, top?: number): { problems: string[]; report: string[] };
