/**
 * Latest-wins scheduling for work driven by the pointer: at most one job runs, at most one waits, and a new job
 * replaces the waiting one (which resolves to undefined). A thousand hovers a second become a handful of requests.
 */
export class Coalescer {
  private busy = false;
  private queued: { start: () => void; drop: () => void } | undefined;

  run<T>(job: () => Promise<T>): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      const start = () => {
        this.busy = true;
        let p: Promise<T>;
        try {
          p = job();
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(resolve, reject).finally(() => {
          this.busy = false;
          const q = this.queued;
          this.queued = undefined;
          q?.start();
        });
      };
      if (!this.busy) return start();
      this.queued?.drop();
      this.queued = { start, drop: () => resolve(undefined) };
    });
  }

  /** Drops the waiting job, if any. */
  cancelQueued(): void {
    this.queued?.drop();
    this.queued = undefined;
  }
}

/** Rejects with `message` when `p` has not settled after `ms`; a stuck request must not block the queue behind it. */
export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
