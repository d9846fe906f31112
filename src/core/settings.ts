/** Settings that were renamed, read with their old names as a fallback (pure: no `vscode` import). */

/** What `WorkspaceConfiguration.inspect()` returns, the parts read here. */
export interface Inspected<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

/** The most specific value set by the user (folder over workspace over user), or undefined. */
function explicit<T>(i: Inspected<T> | undefined): T | undefined {
  return i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
}

/**
 * `attentionInspector.reanalyzeDelayMs`, or the old spelling `reanalyseDelayMs` where only that one is set (at any
 * level: a value of the new name at any level wins). Non-numbers fall back to the default of 750 ms.
 */
export function reanalyzeDelayMs(current: Inspected<unknown> | undefined, old: Inspected<unknown> | undefined): number {
  const v = explicit(current) ?? explicit(old) ?? current?.defaultValue;
  return typeof v === 'number' && Number.isFinite(v) ? v : 750;
}
