import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { TextTokenizer, type TokenSpan } from '../core/tokenizer';
import { openModelFolderInWorker, type PreparedModel } from '../model/openModelFolder';
import { validatePackage, type ModelPackage } from '../model/packageValidator';
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
  tokenizer: TextTokenizer;
}

/**
 * The models the inspector can run: the bundled twins, and folders the user opened (model packages, or ONNX language
 * models rewritten into the extension's global storage). Packages are validated and tokenizers loaded once.
 */
export class ModelStore {
  private readonly loaded = new Map<string, Promise<Loaded>>();
  private readonly user = new Map<string, PreparedModel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly cacheRoot: vscode.Uri,
  ) {}

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
        const pkg = u ? u.pkg : await validatePackage(vscode.Uri.joinPath(this.extensionUri, 'media', 'models', id).fsPath);
        const tokenizer = new TextTokenizer(JSON.parse(await readFile(pkg.tokenizerPath, 'utf8')));
        return { pkg, tokenizer };
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
      read: async () => ({ manifest: u.pkg.manifest, onnx: new Uint8Array(await readFile(u.pkg.onnxPath)) }),
    };
  }

  /** Token ids and their exact ranges in `text`; refuses text longer than the model's context. */
  async tokenize(id: string, text: string): Promise<{ ids: Int32Array; spans: TokenSpan[]; maxContext: number }> {
    const { pkg, tokenizer } = await this.load(id);
    const { ids, spans } = tokenizer.encode(text);
    if (ids.length === 0) throw new Error('nothing to analyze: the text is empty');
    if (ids.length > pkg.manifest.maxContext) {
      throw new Error(`the text has ${ids.length} tokens, more than ${id}'s maximum context of ${pkg.manifest.maxContext}; analyze a selection`);
    }
    const bad = ids.find((v) => v >= pkg.manifest.vocabSize);
    if (bad !== undefined) throw new Error(`the tokenizer gave id ${bad}, outside the model's vocabulary of ${pkg.manifest.vocabSize}`);
    return { ids: Int32Array.from(ids), spans, maxContext: pkg.manifest.maxContext };
  }
}
