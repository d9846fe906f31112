import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { TextTokenizer, type TokenSpan } from '../core/tokenizer';
import { validatePackage, type ModelPackage } from '../model/packageValidator';

export const BUNDLED_MODELS = ['twin-diff', 'twin-softmax'] as const;
export type BundledModel = (typeof BUNDLED_MODELS)[number];

interface Loaded {
  pkg: ModelPackage;
  tokenizer: TextTokenizer;
}

/** The bundled model packages: validated once, tokenizer loaded once, on first use. */
export class BundledModels {
  private readonly loaded = new Map<string, Promise<Loaded>>();

  constructor(private readonly extensionUri: vscode.Uri) {}

  load(name: BundledModel): Promise<Loaded> {
    let l = this.loaded.get(name);
    if (!l) {
      l = (async () => {
        const pkg = await validatePackage(vscode.Uri.joinPath(this.extensionUri, 'media', 'models', name).fsPath);
        const tokenizer = new TextTokenizer(JSON.parse(await readFile(pkg.tokenizerPath, 'utf8')));
        return { pkg, tokenizer };
      })();
      l.catch(() => this.loaded.delete(name));
      this.loaded.set(name, l);
    }
    return l;
  }

  /** Token ids and their exact ranges in `text`; refuses text longer than the model's context. */
  async tokenize(name: BundledModel, text: string): Promise<{ ids: Int32Array; spans: TokenSpan[]; maxContext: number }> {
    const { pkg, tokenizer } = await this.load(name);
    const { ids, spans } = tokenizer.encode(text);
    if (ids.length === 0) throw new Error('nothing to analyse: the text is empty');
    if (ids.length > pkg.manifest.maxContext) {
      throw new Error(`the text has ${ids.length} tokens, more than ${name}'s maximum context of ${pkg.manifest.maxContext}; analyse a selection`);
    }
    return { ids: Int32Array.from(ids), spans, maxContext: pkg.manifest.maxContext };
  }
}
