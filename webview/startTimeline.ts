/**
 * When each step of the panel's start happened, in the page's own clock (ms since the page began), so the log can say
 * where a fresh window's first tint went. Timestamps of the host's log lines cannot: the webview's messages reach a
 * host that is busy activating and tokenizing, and are stamped when read. Only the first occurrence of a step counts.
 */
const marks = new Map<string, number>();
let reported = false;

export function mark(step: string): void {
  if (!marks.has(step)) marks.set(step, performance.now());
}

/** The steps so far, once (the first analysis's report); undefined after that. */
export function startTimeline(): string | undefined {
  if (reported) return undefined;
  reported = true;
  // The page head's early script (early.ts) marks with the User Timing API: it cannot reach this module's marks.
  const all = [...marks, ...performance.getEntriesByType('mark').map((e) => [e.name, e.startTime] as [string, number])];
  const steps = all.sort((a, b) => a[1] - b[1]).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ');
  // The network's view of the same fetches: when each file's bytes arrived, whatever the page was busy with.
  const files = performance
    .getEntriesByType('resource')
    .map((e) => `${decodeURIComponent(e.name.split('?')[0].split('/').slice(-2).join('/'))} ${Math.round(e.startTime)}–${Math.round((e as PerformanceResourceTiming).responseEnd)}`)
    .join(', ');
  return `${steps}; files (start–end): ${files}`;
}
