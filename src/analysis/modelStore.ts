import { realpath } from 'node:fs/promises';
import * as vscode from 'vscode';
import type { TokenSpan } from '../core/tokenizer';
import { TokenizerClient, type TokenizedWindow } from './tokenizeClient';
import { openModelFolderInWorker, type PreparedModel } from '../model/openModelFolder';
import type { ModelPackage } from '../model/packageValidator';
import { readConfined } from '../model/safeFiles';
import { loadBundledPackage } from './bundledModels';

/**
 * A file of a user's validated package, read again when the panel needs it: still confined to the package folder and
 * a regular file (a file swapped for a link after the check is refused, not followed).
 */
async function readPackageFile(pkg: ModelPackage, file: string, what: string, maxBytes: number): Promise<Buffer> {
  return readConfined(await realpath(pkg.folder), file, what, maxBytes);
}
import type { ModelUpload } from '../panel/panelProvider';

export const BUNDLED_MODELS = ['twin-diff', 'twin-softmax'] as const;
export type BundledModel = (typeof BUNDLED_MODELS)[number];
const BUNDLED_TWIN: Record<BundledModel, BundledModel> = { 'twin-diff': 'twin-softmax', 'twin-softmax': 'twin-diff' };

export const isBundled = (id: string): id is BundledModel => (BUNDLED_MODELS as readonly string[]).includes(id);

export const MAX_SIZE_SETTING = 'attentionInspector.maxModelSizeMB';

export function maxModelBytes(): number {
  const mb = vscode.workspace.getConfiguration('attentionInspector').get<number>('maxModelSizeMB', 1024);
  return (Number.isFinite(mb) && mb > 0 ? mb : 1024) * 2 ** 20;
}

interface Loaded {
  pkg: ModelPackage;
  /** The folder a user's package's files are read confined to; undefined for the bundled models. */
  confineTo?: string;
}

/**
 * The models the inspector can run: the bundled twins, and folders the user opened (model packages, or ONNX language
 * models rewritten into the extension's global storage). Packages are validated and tokenizers loaded once.
 */
export class ModelStore implements vscode.Disposable {
  private readonly loaded = new Map<string, Promise<Loaded>>();
  private readonly user = new Map<string, PreparedModel>();
  /** Tokenization runs in a worker thread (tokenizeWorker.ts): the host's event loop never waits for it. */
  private readonly tokenizer: TokenizerClient;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly cacheRoot: vscode.Uri,
  ) {
    this.tokenizer = new TokenizerClient(vscode.Uri.joinPath(extensionUri, 'dist', 'tokenizeWorker.js').fsPath);
  }

  dispose(): void {
    this.tokenizer.dispose();
  }

  /** Validates (and for a manifest-less ONNX folder, rewrites and caches) a model folder; returns its id. */
  async openFolder(folder: string): Promise<PreparedModel> {
    const worker = vscode.Uri.joinPath(this.extensionUri, 'dist', 'openModelWorker.js').fsPath;
    const prepared = await openModelFolderInWorker(worker, folder, { cacheRoot: vscode.Uri.joinPath(this.cacheRoot, 'models').fsPath, maxBytes: maxModelBytes(), limitSetting: MAX_SIZE_SETTING });
    const old = this.user.get(prepared.id);
    if (old && old.pkg.folder !== prepared.pkg.folder) this.loaded.delete(prepared.id);
    this.user.set(prepared.id, prepared);
    return prepared;
  }

  has(id: string): boolean {
    return isBundled(id) || this.user.has(id);
  }

  userModels(): PreparedModel[] {
    return [...this.user.values()];
  }

  /** The model trained identically with the other attention, when there is one (the bundled pair). */
  twinOf(id: string): string | undefined {
    return isBundled(id) ? BUNDLED_TWIN[id] : undefined;
  }

  load(id: string): Promise<Loaded> {
    let l = this.loaded.get(id);
    if (!l) {
      l = (async () => {
        const u = this.user.get(id);
        if (!u && !isBundled(id)) throw new Error(`unknown model "${id}": choose one with Attention Inspector: Choose Model`);
        // The bundled models' tokenizer is shared (dist/models/shared/), outside each model's folder, and ships with
        // the extension; a user's package is read confined to its folder (confineTo). The tokenizer is parsed and
        // checked in the worker, at its first use.
        const pkg = u ? u.pkg : loadBundledPackage(vscode.Uri.joinPath(this.extensionUri, 'dist', 'models').fsPath, id);
        return { pkg, confineTo: u ? pkg.folder : undefined };
      })();
      l.catch(() => this.loaded.delete(id));
      this.loaded.set(id, l);
    }
    return l;
  }

  /** For a user's model, what the panel needs to receive it (bundled models are fetched by the panel itself). */
  upload(id: string): ModelUpload | undefined {
    const u = this.user.get(id);
    if (!u) return undefined;
    return {
      version: u.pkg.folder,
      read: async () => ({ manifest: u.pkg.manifest, onnx: new Uint8Array(await readPackageFile(u.pkg, u.pkg.onnxPath, 'the ONNX model', maxModelBytes() + 2 ** 20)) }),
    };
  }

  /**
   * The window of at most `maxTokens` tokens around `cursor` (a UTF-16 offset in `text`) that textWindow.ts chooses,
   * tokenized in the worker; spans are relative to the window's start.
   */
  async tokenizeWindow(id: string, text: string, cursor: number, maxTokens: number): Promise<TokenizedWindow> {
    const { pkg, confineTo } = await this.load(id);
    return this.tokenizer.window(pkg.tokenizerPath, text, cursor, maxTokens, confineTo);
  }

  /** All of `text`'s token ids (in the worker). */
  async encodeIds(id: string, text: string): Promise<number[]> {
    const { pkg, confineTo } = await this.load(id);
    return (await this.tokenizer.all(pkg.tokenizerPath, text, Infinity, confineTo)).ids;
  }

  /** Token ids and their exact ranges in `text`; refuses text longer than the model's context. */
  async tokenize(id: string, text: string): Promise<{ ids: Int32Array; spans: TokenSpan[]; maxContext: number }> {
    const { pkg, confineTo } = await this.load(id);
    const { ids, spans, count } = await this.tokenizer.all(pkg.tokenizerPath, text, pkg.manifest.maxContext, confineTo);
    if (count === 0) throw new Error('nothing to analyze: the text is empty');
    if (count > pkg.manifest.maxContext) {
      throw new Error(`the text has ${count} tokens, more than ${id}'s maximum context of ${pkg.manifest.maxContext}; analyze a selection`);
    }
    const bad = ids.find((v) => v >= pkg.manifest.vocabSize);
    if (bad !== undefined) throw new Error(`the tokenizer gave id ${bad}, outside the model's vocabulary of ${pkg.manifest.vocabSize}`);
    return { ids: Int32Array.from(ids), spans, maxContext: pkg.manifest.maxContext };
  }
}
