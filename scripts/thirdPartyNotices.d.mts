// Types for scripts/thirdPartyNotices.mjs (imported by the unit tests).
export function bundledPackages(metafiles: { outputs: Record<string, { inputs: Record<string, unknown> }> }[]): string[];
export function noticesText(root: string, packages: string[]): string;
export function noticesFromBuild(root: string): { packages: string[]; text: string };
