/**
 * Reading policy YAML with positions: every problem is collected as `file:line:col: message`
 * (never thrown), so an admin sees all of them at once.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';

export interface SourceFile {
  readonly path: string;
  readonly document: Document.Parsed;
  readonly lineCounter: LineCounter;
}

interface Problem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export class Problems {
  private readonly found: Problem[] = [];

  /** `files`: the order files are listed in (others follow, in the order first reported). */
  constructor(private readonly files: readonly string[] = []) {}

  /** At `node` (its first character), or at the file's start when there is no node. */
  at(file: SourceFile, node: Node | null | undefined, message: string): void {
    this.atOffset(file.path, file.lineCounter, node?.range?.[0], message);
  }

  atOffset(path: string, lineCounter: LineCounter | undefined, offset: number | undefined, message: string): void {
    const { line, col } = offset === undefined || lineCounter === undefined ? { line: 1, col: 1 } : lineCounter.linePos(offset);
    this.found.push({ file: path, line, col, message });
  }

  get count(): number {
    return this.found.length;
  }

  /** `file:line:col: message`, by file, then by position. */
  texts(): string[] {
    const fileOrder = [...new Set([...this.files, ...this.found.map((p) => p.file)])];
    return [...this.found]
      .sort((a, b) => fileOrder.indexOf(a.file) - fileOrder.indexOf(b.file) || a.line - b.line || a.col - b.col)
      .map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
  }
}

/** What either format compiles from: both parsed files (groups.yml may not exist) and where problems go. */
export interface FormatInput {
  readonly policies: SourceFile;
  readonly groups: SourceFile | undefined;
  /** Where groups.yml was looked for (named in messages when it does not exist). */
  readonly groupsPath: string;
  readonly problems: Problems;
}

/** The document, or undefined after reporting its syntax errors. */
export function parseSource(path: string, text: string, problems: Problems): SourceFile | undefined {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  for (const error of document.errors) problems.atOffset(path, lineCounter, error.pos[0], error.message);
  return document.errors.length > 0 ? undefined : { path, document, lineCounter };
}

/** The node an alias (`*name`) stands for; others as they are. */
export function resolved(file: SourceFile, node: unknown): Node | null {
  if (isAlias(node)) return node.resolve(file.document) ?? null;
  return isMap(node) || isSeq(node) || isScalar(node) ? node : null;
}

/** The document's top node; null for an empty document (`---` / `...` alone). */
export function rootOf(file: SourceFile): Node | null {
  const root = resolved(file, file.document.contents);
  return isScalar(root) && root.value === null ? null : root;
}

export function isEmpty(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

/**
 * A scalar as text: strings as they are, other plain scalars as written (a user `0123` or a path
 * `-1` stays what the admin typed); undefined for null and for collections.
 */
export function textOf(node: Node | null): string | undefined {
  if (!isScalar(node) || node.value === null) return undefined;
  if (typeof node.value === 'string') return node.value;
  return node.source ?? String(node.value);
}

export interface Entry {
  readonly key: string | undefined;
  readonly keyNode: Node | null;
  readonly value: Node | null;
}

export function entriesOf(file: SourceFile, map: YAMLMap): Entry[] {
  return map.items.map((pair: Pair) => {
    const keyNode = resolved(file, pair.key);
    return { key: textOf(keyNode), keyNode, value: resolved(file, pair.value) };
  });
}

/** A mapping's entries, reporting (and skipping) keys that are not text. */
export function keyedEntries(file: SourceFile, map: YAMLMap, problems: Problems): Array<Entry & { readonly key: string }> {
  const out: Array<Entry & { readonly key: string }> = [];
  for (const entry of entriesOf(file, map)) {
    if (entry.key === undefined) problems.at(file, entry.keyNode ?? map, 'expected a name as the key');
    else out.push({ ...entry, key: entry.key });
  }
  return out;
}

export function itemsOf(file: SourceFile, seq: YAMLSeq): Array<Node | null> {
  return seq.items.map((item) => resolved(file, item));
}

/** A list of text entries, each non-text one reported; undefined when `node` is not a list. */
export function textList(file: SourceFile, node: Node | null, problems: Problems): Array<{ text: string; node: Node | null }> | undefined {
  if (!isSeq(node)) return undefined;
  const out: Array<{ text: string; node: Node | null }> = [];
  for (const item of itemsOf(file, node)) {
    const text = textOf(item);
    if (text === undefined) problems.at(file, item ?? node, 'expected text');
    else out.push({ text, node: item });
  }
  return out;
}


export { isMap, isScalar, isSeq };
export type { Node, YAMLMap, YAMLSeq };
