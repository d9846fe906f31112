/**
 * The extension host's side of the tokenizer worker (tokenizeWorker.ts): requests go to one long-lived worker thread
 * and come back with token ids and exact UTF-16 spans. Node only (no `vscode`), so unit tests and benchmarks drive
 * the same code as the extension.
 */
import { Worker } from 'node:worker_threads';
import type { TokenSpan } from '../core/tokenizer';

export type TokenizeRequest =
  | { id: number; kind: 'window'; tokenizerPath: string; confineTo?: string; text: string; cursor: number; maxTokens: number }
  | { id: number; kind: 'all'; tokenizerPath: string; confineTo?: string; text: string; limit: number };

export type TokenizeReply =
  | { id: number; ok: true; start: number; end: number; partial: boolean; count: number; ids: number[]; spans: TokenSpan[] }
  | { id: number; ok: false; error: string };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface TokenizedWindow {
  /** UTF-16 offsets of the tokenized text in the text sent. */
  start: number;
  end: number;
  partial: boolean;
  /** Number of tokens; when over the limit of all(), ids and spans are left empty. */
  count: number;
  ids: number[];
  /** Spans relative to `start`. */
  spans: TokenSpan[];
}

export class TokenizerClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: TokenizedWindow) => void; reject: (e: Error) => void }>();

  constructor(private readonly workerFile: string) {}

  /** Tokenizes a window of at most `maxTokens` tokens of `text` around `cursor` (textWindow.ts decides which). */
  window(tokenizerPath: string, text: string, cursor: number, maxTokens: number, confineTo?: string): Promise<TokenizedWindow> {
    return this.send({ kind: 'window', tokenizerPath, confineTo, text, cursor, maxTokens });
  }

  /**
   * Tokenizes all of `text`. Over `limit` tokens only the count comes back: receiving 200k span objects would cost
   * the calling thread what the worker saved it.
   */
  all(tokenizerPath: string, text: string, limit = Infinity, confineTo?: string): Promise<TokenizedWindow> {
    return this.send({ kind: 'all', tokenizerPath, confineTo, text, limit });
  }

  private send(req: DistributiveOmit<TokenizeRequest, 'id'>): Promise<TokenizedWindow> {
    const w = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // While a request waits the worker keeps the process alive (a script awaiting it); idle, it does not.
      if (this.pending.size === 1) w.ref();
      w.postMessage({ ...req, id });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.workerFile);
    w.unref();
    w.on('message', (m: TokenizeReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.ok) p.resolve({ start: m.start, end: m.end, partial: m.partial, count: m.count, ids: m.ids, spans: m.spans });
      else p.reject(new Error(m.error));
    });
    const fail = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      for (const p of this.pending.values()) p.reject(new Error(`the tokenizer worker stopped (${why}); run the command again`));
      this.pending.clear();
    };
    w.on('error', (e) => fail(e.message));
    w.on('exit', (code) => fail(`exit code ${code}`));
    this.worker = w;
    return w;
  }

  dispose(): void {
    const w = this.worker;
    this.worker = undefined;
    for (const p of this.pending.values()) p.reject(new Error('Attention Inspector was deactivated'));
    this.pending.clear();
    void w?.terminate();
  }
}
