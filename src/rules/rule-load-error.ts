/** A rule file that cannot be used; `location` is `file:line:col` when the problem has one. */
export class RuleLoadError extends Error {
  constructor(
    readonly location: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${location}: ${detail}`, options);
    this.name = 'RuleLoadError';
  }
}

/** Several rule files failed; each error names its file (and line:col for syntax errors). */
export class RuleSetLoadError extends Error {
  constructor(readonly errors: readonly RuleLoadError[]) {
    super(`cannot load rules:\n  - ${errors.map((e) => e.message).join('\n  - ')}`);
    this.name = 'RuleSetLoadError';
  }
}
