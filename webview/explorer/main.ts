/**
 * The explorer webview's message loop: it validates what the host sends, answers nothing itself, and asks the host
 * (which asks the side panel) for maps, rows and statistics, each request waiting for its `…/done` by id.
 */
import { parseToWebview, type AnalysisQuery, type RowsPayload, type TensorPayload, type ToHost } from '../../src/core/protocol';
import { vscodeApi } from '../vscodeApi';
import { ExplorerView } from './explorerView';

const vscode = vscodeApi<unknown>();
const send = (m: ToHost) => vscode.postMessage(m);
type Kind = 'explorer/query/done' | 'explorer/rows/done';
const pending = new Map<number, { kind: Kind; resolve: (v: unknown) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
// Ids start anywhere: an answer meant for an explorer closed a moment ago must not match a request of this one.
let nextId = Math.floor(Math.random() * 2 ** 30);

function request<R>(kind: Kind, build: (id: number) => ToHost): Promise<R> {
  const id = nextId++;
  return new Promise<R>((resolve, reject) => {
    // The host relays to the side panel, which fails a request itself after attentionInspector.webviewTimeoutSeconds;
    // this only keeps an answer lost with a reloaded panel from waiting forever.
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error('no answer from the side panel (was it reloaded?); run Analyze Document again'));
    }, 600_000);
    pending.set(id, { kind, resolve: resolve as (v: unknown) => void, reject, timer });
    send(build(id));
  });
}

const view = new ExplorerView(document.getElementById('app') as HTMLElement, {
  query: (session: number, model: string, query: AnalysisQuery) => request<TensorPayload>('explorer/query/done', (id) => ({ method: 'explorer/query', id, session, model, query })),
  rows: (session: number, model: string, query: number) => request<RowsPayload>('explorer/rows/done', (id) => ({ method: 'explorer/rows', id, session, model, query })),
  send,
});

window.addEventListener('message', (event: MessageEvent) => {
  const parsed = parseToWebview(event.data);
  if (!parsed.ok) {
    send({ method: 'log', level: 'warn', message: `explorer dropped an invalid message (method ${parsed.method}): ${parsed.reason}` });
    return;
  }
  const msg = parsed.message;
  switch (msg.method) {
    case 'explorer/state':
      view.update(msg.state);
      return;
    case 'explorer/query/done':
    case 'explorer/rows/done': {
      const p = pending.get(msg.id);
      if (!p || p.kind !== msg.method) return;
      pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error));
      return;
    }
    default:
      send({ method: 'log', level: 'warn', message: `explorer got ${msg.method}, which is for the side panel` });
  }
});
window.addEventListener('unhandledrejection', (e) => send({ method: 'log', level: 'error', message: `unhandled rejection in the explorer: ${String(e.reason)}` }));
send({ method: 'explorer/ready' });
