// Types for scripts/packageReadme.mjs (imported by the unit tests).
export function packagedReadme(markdown: string, readFile?: (path: string) => Buffer): string;
