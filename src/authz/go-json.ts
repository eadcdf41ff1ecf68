/**
 * Reads a request body the way dockerd's Go `encoding/json` decoder does, so a rule reading
 * `HostConfig.Privileged` sees what dockerd will act on:
 *  - struct field names match case-insensitively (Go folds `ſ`→s, `K` (Kelvin)→k, `ı`/`İ`→i too),
 *    an exact match winning over a folded one;
 *  - a field given twice is decoded twice into the same value: structs and maps merge, the rest is
 *    replaced (JSON.parse would keep only the last object, losing `"HostConfig":{"Privileged":true}`
 *    if a second `"hostconfig":{}` follows);
 *  - map keys (labels, options) stay as written.
 * The original lower-cased every key, which also mangled label names; this keeps Docker's casing.
 */

export type Schema =
  | { readonly kind: 'struct'; readonly fields: Readonly<Record<string, Schema>> }
  | { readonly kind: 'map'; readonly value: Schema }
  | { readonly kind: 'array'; readonly item: Schema }
  | { readonly kind: 'any' };

type Node =
  | { readonly type: 'object'; readonly entries: Array<[string, Node]> }
  | { readonly type: 'array'; readonly items: Node[] }
  | { readonly type: 'scalar'; readonly value: string | number | boolean | null };

export class JsonSyntaxError extends Error {
  constructor(message: string, readonly position: number) {
    super(`${message} at offset ${position}`);
    this.name = 'JsonSyntaxError';
  }
}

const MAX_DEPTH = 256;

/** A strict JSON parser that keeps every object entry in order, duplicates included. */
class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parseDocument(): Node {
    const node = this.value(0);
    this.space();
    if (this.pos !== this.text.length) throw new JsonSyntaxError('unexpected data after the JSON value', this.pos);
    return node;
  }

  private space(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos]!)) this.pos++;
  }

  private value(depth: number): Node {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError('nesting too deep', this.pos);
    this.space();
    const char = this.text[this.pos];
    if (char === '{') return this.object(depth);
    if (char === '[') return this.array(depth);
    if (char === '"') return { type: 'scalar', value: this.string() };
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return { type: 'scalar', value };
      }
    }
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 64));
    if (!match) throw new JsonSyntaxError('unexpected character', this.pos);
    this.pos += match[0].length;
    return { type: 'scalar', value: Number(match[0]) };
  }

  private object(depth: number): Node {
    this.pos++;
    const entries: Array<[string, Node]> = [];
    this.space();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return { type: 'object', entries };
    }
    for (;;) {
      this.space();
      if (this.text[this.pos] !== '"') throw new JsonSyntaxError('expected a string key', this.pos);
      const key = this.string();
      this.space();
      if (this.text[this.pos] !== ':') throw new JsonSyntaxError("expected ':'", this.pos);
      this.pos++;
      entries.push([key, this.value(depth + 1)]);
      this.space();
      const next = this.text[this.pos++];
      if (next === '}') return { type: 'object', entries };
      if (next !== ',') throw new JsonSyntaxError("expected ',' or '}'", this.pos - 1);
    }
  }

  private array(depth: number): Node {
    this.pos++;
    const items: Node[] = [];
    this.space();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return { type: 'array', items };
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.space();
      const next = this.text[this.pos++];
      if (next === ']') return { type: 'array', items };
      if (next !== ',') throw new JsonSyntaxError("expected ',' or ']'", this.pos - 1);
    }
  }

  private string(): string {
    const start = this.pos;
    const end = this.findStringEnd(start + 1);
    try {
      return JSON.parse(this.text.slice(start, end + 1)) as string;
    } catch {
      throw new JsonSyntaxError('invalid string', start);
    } finally {
      this.pos = end + 1;
    }
  }

  private findStringEnd(from: number): number {
    for (let i = from; i < this.text.length; i++) {
      const char = this.text[i];
      if (char === '\\') i++;
      else if (char === '"') return i;
    }
    throw new JsonSyntaxError('unterminated string', from - 1);
  }
}

/** Go's case folding of field names, reduced to what can make a non-ASCII key match an ASCII field. */
export function foldFieldName(name: string): string {
  return name.toLowerCase().replace(/ſ/g, 's').replace(/\u212a/g, 'k').replace(/ı|i\u0307/g, 'i');
}

const foldIndexes = new WeakMap<object, Map<string, string>>();

function fieldIndex(fields: Readonly<Record<string, Schema>>): Map<string, string> {
  let index = foldIndexes.get(fields);
  if (!index) {
    index = new Map(Object.keys(fields).map((name) => [foldFieldName(name), name]));
    foldIndexes.set(fields, index);
  }
  return index;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function decode(node: Node, schema: Schema, into: unknown): unknown {
  if (node.type === 'scalar') return node.value;
  if (node.type === 'array') {
    const item = schema.kind === 'array' ? schema.item : ANY;
    return node.items.map((child) => decode(child, item, undefined));
  }
  if (schema.kind === 'struct') {
    const target: Record<string, unknown> = isRecord(into) ? into : {};
    const index = fieldIndex(schema.fields);
    for (const [key, child] of node.entries) {
      const field = Object.prototype.hasOwnProperty.call(schema.fields, key) ? key : index.get(foldFieldName(key));
      if (field === undefined) {
        // Unknown to this schema (a newer API field): kept as written so rules can still see it.
        target[key] = decode(child, ANY, target[key]);
        continue;
      }
      target[field] = decode(child, schema.fields[field]!, target[field]);
    }
    return target;
  }
  // Maps (and untyped objects) keep keys as written; Go decodes into an existing map, adding keys.
  const target: Record<string, unknown> = isRecord(into) ? into : {};
  const value = schema.kind === 'map' ? schema.value : ANY;
  for (const [key, child] of node.entries) target[key] = decode(child, value, schema.kind === 'map' ? undefined : target[key]);
  return target;
}

const ANY: Schema = { kind: 'any' };

/** Parses `text` and decodes it against `schema` like Go's encoding/json. Throws JsonSyntaxError. */
export function decodeLikeGo(text: string, schema: Schema): unknown {
  return decode(new Parser(text).parseDocument(), schema, undefined);
}
