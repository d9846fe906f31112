/** A promise with its resolve/reject exposed, and an optional timer that rejects it. */
export class Deferred<T> {
  readonly promise: Promise<T>;
  resolve!: (v: T) => void;
  reject!: (e: Error) => void;
  private timer: ReturnType<typeof setTimeout> | undefined;
  settled = false;

  constructor(timeoutMs?: number, timeoutMessage?: string) {
    this.promise = new Promise<T>((res, rej) => {
      this.resolve = (v) => {
        if (this.settled) return;
        this.settled = true;
        clearTimeout(this.timer);
        res(v);
      };
      this.reject = (e) => {
        if (this.settled) return;
        this.settled = true;
        clearTimeout(this.timer);
        rej(e);
      };
    });
    // Callers may drop the promise after a timeout; never let that surface as an unhandled rejection.
    this.promise.catch(() => undefined);
    if (timeoutMs !== undefined) {
      this.timer = setTimeout(() => this.reject(new Error(timeoutMessage ?? `timed out after ${timeoutMs} ms`)), timeoutMs);
    }
  }
}
