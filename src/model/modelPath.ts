import * as path from 'node:path';

/** Expands ${workspaceFolder} and makes a relative path relative to the first workspace folder. */
export function resolveModelPath(p: string, workspaceFolder: string | undefined): string {
  const expanded = workspaceFolder ? p.replace(/\$\{workspaceFolder\}/g, workspaceFolder) : p;
  return path.isAbsolute(expanded) || !workspaceFolder ? expanded : path.join(workspaceFolder, expanded);
}

/**
 * Where attentionInspector.modelPath comes from, and whether it may load: a path set in workspace or folder settings
 * is a file the workspace's author chose, so it loads only in a trusted workspace. A user-level path always loads.
 */
export function modelPathDecision(
  inspected: { globalValue?: string; workspaceValue?: string; workspaceFolderValue?: string } | undefined,
  trusted: boolean,
): { path: string; from: 'user' | 'workspace' } | { blocked: string } | undefined {
  const ws = inspected?.workspaceFolderValue || inspected?.workspaceValue;
  if (ws) {
    if (!trusted) return { blocked: `The workspace setting attentionInspector.modelPath (${ws}) is ignored because this workspace is not trusted: a model chosen by a workspace loads only after you trust it.` };
    return { path: ws, from: 'workspace' };
  }
  return inspected?.globalValue ? { path: inspected.globalValue, from: 'user' } : undefined;
}
