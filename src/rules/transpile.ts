import ts from 'typescript';
import { RuleLoadError } from './rule-load-error';

const COMPILER_OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  isolatedModules: true,
  sourceMap: false,
  inlineSourceMap: false,
};

/**
 * TypeScript -> CommonJS, types erased (so `import type … from 'docker-enforcer'` needs no module at
 * run time). Only syntax is checked here; `docker-enforcer check` type-checks.
 */
export function transpileRuleSource(source: string, file: string): string {
  const output = ts.transpileModule(source, { compilerOptions: COMPILER_OPTIONS, fileName: file, reportDiagnostics: true });
  const errors = (output.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  const first = errors[0];
  if (first) {
    const message = ts.flattenDiagnosticMessageText(first.messageText, '\n');
    let location = file;
    if (first.file && first.start !== undefined) {
      const { line, character } = first.file.getLineAndCharacterOfPosition(first.start);
      location = `${file}:${line + 1}:${character + 1}`;
    }
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more syntax error(s))` : '';
    throw new RuleLoadError(location, `syntax error: ${message}${more}`);
  }
  return output.outputText;
}
