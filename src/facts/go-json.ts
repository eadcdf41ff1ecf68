/**
 * Reads a request body exactly as dockerd's Go `encoding/json` decoder (`json.NewDecoder(body).Decode`)
 * reads it into a typed value (go-type.ts), so a rule judges what dockerd will act on. Each rule
 * below is a way a plugin's reading once differed from dockerd's and let a request through:
 *  - Struct field names match case-insensitively by Go's folding: ASCII letters, plus `ſ` for s and
 *    the Kelvin sign for k — and nothing else (`ı` and `İ` match no field). An exact match wins; a
 *    key that folds to no field is ignored.
 *  - A key given twice is decoded twice into the same place: structs, pointers and maps merge, slice
 *    elements are decoded into in place (Go reuses the backing array, stale elements included),
 *    scalars are replaced.
 *  - `null` sets pointers, maps, slices and interfaces to nil and is ignored everywhere else:
 *    `{"Privileged":true,"privileged":null}` is privileged.
 *  - Only the first JSON value is read; dockerd 20.10 ignores anything after it.
 *  - Nesting up to 10,000 levels is valid (Go's limit), not 256.
 *  - Invalid UTF-8 and lone UTF-16 surrogate escapes become U+FFFD, one per bad byte / escape.
 *  - A value of the wrong type (a string where Go wants a bool) makes dockerd reject the request;
 *    it is reported as `typeError` so the caller can refuse it too.
 * Map keys (labels, options) keep their exact spelling.
 *
 * Fast path (what real clients send): JSON.parse of the first value when the text has no key given
 * twice in one object and no surrogate escape, then the typed walk. Otherwise a parser that keeps
 * every entry in order feeds the same walk.
 */
import { isUtf8 } from 'node:buffer';
import type { GoType, StructType } from './go-type';

/** Go's encoding/json scanner refuses deeper nesting (maxNestingDepth). */
export const MAX_NESTING_DEPTH = 10_000;

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = 'JsonSyntaxError';
  }
}

/** An object as written, duplicates included, in order (plain objects stand for duplicate-free ones). */
class EntryList {
  constructor(readonly entries: ReadonlyArray<readonly [string, unknown]>) {}
}

export interface DecodedBody {
  /** The value dockerd would hold, with Docker's field names; fields never given are absent. */
  readonly value: unknown;
  /** Where Go would fail with an UnmarshalTypeError (dockerd then rejects the request), if anywhere. */
  readonly typeError?: string;
  /** Why the value cannot be judged although Go would read it (see MAX_FREE_FORM_DEPTH). */
  readonly refused?: string;
}

/** Bytes -> text the way Go reads them: each byte of an invalid UTF-8 sequence becomes U+FFFD. */
export function goUtf8(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let text = '';
  let i = 0;
  while (i < bytes.length) {
    const size = validSequenceLength(bytes, i);
    if (size === 0) {
      text += '\uFFFD';
      i += 1;
    } else {
      text += bytes.toString('utf8', i, i + size);
      i += size;
    }
  }
  return text;
}

/** Length of the valid UTF-8 sequence at `i` (Go's utf8.DecodeRune acceptance ranges), 0 if invalid. */
function validSequenceLength(bytes: Buffer, i: number): number {
  const first = bytes[i]!;
  if (first < 0x80) return 1;
  const inRange = (offset: number, low: number, high: number): boolean => {
    const byte = bytes[i + offset];
    return byte !== undefined && byte >= low && byte <= high;
  };
  if (first >= 0xc2 && first <= 0xdf) return inRange(1, 0x80, 0xbf) ? 2 : 0;
  if (first >= 0xe0 && first <= 0xef) {
    const [low, high] = first === 0xe0 ? [0xa0, 0xbf] : first === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return inRange(1, low, high) && inRange(2, 0x80, 0xbf) ? 3 : 0;
  }
  if (first >= 0xf0 && first <= 0xf4) {
    const [low, high] = first === 0xf0 ? [0x90, 0xbf] : first === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return inRange(1, low, high) && inRange(2, 0x80, 0xbf) && inRange(3, 0x80, 0xbf) ? 4 : 0;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Field-name folding

/** Go's folding of a key for field matching: ASCII letters upper-cased, `ſ` -> S, Kelvin sign -> K. */
export function goFoldKey(key: string): string {
  if (/^[\x00-\x7f]*$/.test(key)) return key.toUpperCase();
  let folded = '';
  for (const char of key) {
    if (char === '\u017f') folded += 'S';
    else if (char === '\u212a') folded += 'K';
    else if (char >= 'a' && char <= 'z') folded += char.toUpperCase();
    else folded += char;
  }
  return folded;
}

interface FieldIndex {
  readonly folded: ReadonlyMap<string, string>;
}

const fieldIndexes = new WeakMap<object, FieldIndex>();

function fieldIndex(type: StructType): FieldIndex {
  let index = fieldIndexes.get(type.fields);
  if (!index) {
    index = { folded: new Map(Object.keys(type.fields).map((name) => [goFoldKey(name), name])) };
    fieldIndexes.set(type.fields, index);
  }
  return index;
}

/** The struct field a JSON key decodes into, or undefined when Go ignores the key. */
export function fieldFor(type: StructType, key: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(type.fields, key)) return key;
  return fieldIndex(type).folded.get(goFoldKey(key));
}

// ---------------------------------------------------------------------------------------------
// Parsing the first JSON value

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

interface Scan {
  /** Index just after the first JSON value. */
  readonly end: number;
  /** Object keys in it. */
  readonly keys: number;
  readonly depth: number;
}

/**
 * Finds the end of the first value, counting keys and nesting on the way. Assumes the value is valid
 * JSON (JSON.parse checks the slice afterwards); garbage only makes the count or the end wrong,
 * which sends the text down the careful path or to a syntax error.
 */
function scanFirstValue(text: string): Scan {
  let i = 0;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  const first = text.charCodeAt(i);
  if (first !== 0x7b && first !== 0x5b) {
    if (first === 0x22) return { end: stringEnd(text, i) + 1, keys: 0, depth: 0 };
    let end = i;
    while (end < text.length && !isSpace(text.charCodeAt(end)) && !'{}[],:"'.includes(text[end]!)) end++;
    return { end, keys: 0, depth: 0 };
  }
  let keys = 0;
  let depth = 0;
  let deepest = 0;
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) {
      const end = stringEnd(text, i);
      let next = end + 1;
      while (isSpace(text.charCodeAt(next))) next++;
      if (text.charCodeAt(next) === 0x3a) keys++;
      i = end;
    } else if (code === 0x7b || code === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (code === 0x7d || code === 0x5d) {
      depth--;
      if (depth === 0) return { end: i + 1, keys, depth: deepest };
    }
  }
  return { end: text.length, keys, depth: deepest };
}

/** Index of the quote closing the string that opens at `open` (text.length when unterminated). */
function stringEnd(text: string, open: number): number {
  let i = open + 1;
  for (;;) {
    const quote = text.indexOf('"', i);
    if (quote === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote;
    i = quote + 1;
  }
}

function countKeys(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) if (item !== null && typeof item === 'object') count += countKeys(item);
    return count;
  }
  // for-in, not Object.keys: no array per object (JSON.parse objects inherit no enumerable keys).
  for (const key in value) {
    count++;
    const item = (value as Record<string, unknown>)[key];
    if (item !== null && typeof item === 'object') count += countKeys(item);
  }
  return count;
}

const FAST_PATH_MAX_DEPTH = 512;
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** The first JSON value of `text`: plain JS values, with EntryList for objects the fast path cannot hold. */
export function parseFirstValue(text: string): unknown {
  const scan = scanFirstValue(text);
  // Deep values go to the iterative parser: counting keys recursively could overflow the stack.
  if (scan.depth <= FAST_PATH_MAX_DEPTH) {
    const slice = scan.end === text.length ? text : text.slice(0, scan.end);
    let parsed: unknown;
    try {
      parsed = JSON.parse(slice);
    } catch {
      return new EntryParser(text).parse(); // throws the JsonSyntaxError with its offset
    }
    if (countKeys(parsed) === scan.keys && !SURROGATE_ESCAPE.test(slice)) return parsed;
  }
  return new EntryParser(text).parse();
}

/**
 * The careful path: an iterative parser (no recursion, so 10,000 levels cannot overflow the stack)
 * that keeps every object entry in order and unescapes strings as Go does.
 */
type Frame = { readonly kind: 'object'; readonly entries: Array<[string, unknown]>; key: string } | { readonly kind: 'array'; readonly items: unknown[] };

class EntryParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parse(): unknown {
    const stack: Frame[] = [];
    let value: unknown;
    let complete = false;
    for (;;) {
      if (!complete) {
        this.space();
        const char = this.text[this.pos];
        if (char === '{' || char === '[') {
          if (stack.length >= MAX_NESTING_DEPTH) throw new JsonSyntaxError('exceeded max depth', this.pos);
          this.pos++;
          this.space();
          if (this.text[this.pos] === (char === '{' ? '}' : ']')) {
            this.pos++;
            value = char === '{' ? new EntryList([]) : [];
            complete = true;
          } else {
            stack.push(char === '{' ? { kind: 'object', entries: [], key: this.key() } : { kind: 'array', items: [] });
          }
          continue;
        }
        value = this.scalar();
        complete = true;
        continue;
      }
      const top = stack[stack.length - 1];
      if (!top) return value;
      if (top.kind === 'object') top.entries.push([top.key, value]);
      else top.items.push(value);
      complete = false;
      this.space();
      const next = this.text[this.pos++];
      if (next === ',') {
        if (top.kind === 'object') top.key = this.key();
        continue;
      }
      if (next === (top.kind === 'object' ? '}' : ']')) {
        stack.pop();
        value = top.kind === 'object' ? new EntryList(top.entries) : top.items;
        complete = true;
        continue;
      }
      throw new JsonSyntaxError(top.kind === 'object' ? "expected ',' or '}'" : "expected ',' or ']'", this.pos - 1);
    }
  }

  /** `"key":` */
  private key(): string {
    this.space();
    if (this.text[this.pos] !== '"') throw new JsonSyntaxError('expected a string key', this.pos);
    const key = this.string();
    this.space();
    if (this.text[this.pos] !== ':') throw new JsonSyntaxError("expected ':'", this.pos);
    this.pos++;
    return key;
  }

  private space(): void {
    while (this.pos < this.text.length && isSpace(this.text.charCodeAt(this.pos))) this.pos++;
  }

  private scalar(): unknown {
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    if (this.text[this.pos] === '"') return this.string();
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (!match) throw new JsonSyntaxError(this.pos >= this.text.length ? 'unexpected end of JSON input' : 'invalid character', this.pos);
    this.pos += match[0].length;
    return Number(match[0]);
  }

  /** A string token, unescaped as Go's `unquote` does (bad surrogates become U+FFFD). */
  private string(): string {
    const open = this.pos;
    const close = stringEnd(this.text, open);
    if (close >= this.text.length) throw new JsonSyntaxError('unterminated string', open);
    const raw = this.text.slice(open + 1, close);
    this.pos = close + 1;
    if (/[\x00-\x1f]/.test(raw)) throw new JsonSyntaxError('invalid character in string literal', open);
    return raw.includes('\\') ? unescapeLikeGo(raw, open + 1) : raw;
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Go's unquote: a high surrogate escape followed by a low one is a pair; any other surrogate is U+FFFD. */
function unescapeLikeGo(raw: string, offset: number): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i]!;
    if (char !== '\\') {
      out += char;
      continue;
    }
    const escape = raw[++i] ?? '';
    const simple = SIMPLE_ESCAPES[escape];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    const unit = escape === 'u' ? hex4(raw, i + 1) : -1;
    if (unit < 0) throw new JsonSyntaxError('invalid escape in string literal', offset + i);
    i += 4;
    if (unit < 0xd800 || unit > 0xdfff) {
      out += String.fromCharCode(unit);
      continue;
    }
    const low = raw[i + 1] === '\\' && raw[i + 2] === 'u' ? hex4(raw, i + 3) : -1;
    if (unit <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
      out += String.fromCharCode(unit, low);
      i += 6;
    } else {
      out += '\uFFFD';
    }
  }
  return out;
}

function hex4(text: string, at: number): number {
  const digits = text.slice(at, at + 4);
  return /^[0-9a-fA-F]{4}$/.test(digits) ? parseInt(digits, 16) : -1;
}

// ---------------------------------------------------------------------------------------------
// The typed walk

/** Sets an own property, even `__proto__` (plain assignment would replace the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function isObjectValue(value: unknown): value is Record<string, unknown> | EntryList {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof EntryList);
}

function entriesOf(value: Record<string, unknown> | EntryList): ReadonlyArray<readonly [string, unknown]> {
  if (value instanceof EntryList) return value.entries;
  return Object.keys(value).map((key) => [key, value[key]] as const);
}

/**
 * Free-form values (`interface{}`) deeper than this are refused rather than judged: Go accepts up
 * to 10,000 levels, but copying or serialising such a value recursively would overflow the stack,
 * and no Docker client nests a field like that.
 */
export const MAX_FREE_FORM_DEPTH = 64;

/** Plain JS for an `interface{}`: objects as Go's map[string]interface{} (the last duplicate wins). */
function toPlain(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_FREE_FORM_DEPTH) throw new TooDeepError();
  if (value instanceof EntryList) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of value.entries) setOwn(out, key, toPlain(child, depth + 1));
    return out;
  }
  if (Array.isArray(value)) return value.map((item: unknown) => toPlain(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) setOwn(out, key, toPlain((value as Record<string, unknown>)[key], depth + 1));
  return out;
}

class TooDeepError extends Error {}

function nilable(type: GoType): boolean {
  switch (type.kind) {
    case 'map':
    case 'slice':
    case 'any':
    case 'bytes':
    case 'strslice':
      return true;
    case 'array':
      return false;
    default:
      return type.ptr;
  }
}

function zeroOf(type: GoType): unknown {
  switch (type.kind) {
    case 'string':
      return type.ptr ? null : '';
    case 'bool':
      return type.ptr ? null : false;
    case 'int':
    case 'uint':
    case 'float':
      return type.ptr ? null : 0;
    default:
      return undefined;
  }
}

/**
 * Where in the body a value sits, built as the walk descends and spelled out only for an error
 * message (a string per field cost ~10 % of decoding a create body).
 */
export type Path = string | { readonly parent: Path; readonly field: string } | { readonly parent: Path; readonly key: string } | { readonly parent: Path; readonly index: number };

function pathText(path: Path): string {
  if (typeof path === 'string') return path;
  const parent = pathText(path.parent);
  if ('field' in path) return parent === '' ? path.field : `${parent}.${path.field}`;
  if ('key' in path) return `${parent}[${JSON.stringify(path.key)}]`;
  return `${parent}[${path.index}]`;
}

/** Go's view of a slice: the visible elements plus the backing array (stale elements beyond len) and cap. */
interface SliceBacking {
  readonly backing: unknown[];
  readonly cap: number;
}

/** The typed walk over parsed JSON; one per body (it remembers slice backings and the first type error). */
export class GoDecoder {
  private typeError: string | undefined;
  private readonly backings = new WeakMap<unknown[], SliceBacking>();

  private refused: string | undefined;

  result(value: unknown): DecodedBody {
    if (this.refused !== undefined) return { value, refused: this.refused };
    return this.typeError === undefined ? { value } : { value, typeError: this.typeError };
  }

  private fail(path: Path, want: string, value: unknown): void {
    const got = value === null ? 'null' : Array.isArray(value) ? 'array' : value instanceof EntryList ? 'object' : typeof value;
    // Go reports the first mismatch (UnmarshalTypeError) and keeps decoding the rest.
    if (this.typeError !== undefined) return;
    const where = pathText(path);
    this.typeError = `${where === '' ? 'body' : where}: cannot read ${got} as ${want}`;
  }

  decode(value: unknown, type: GoType, into: unknown, path: Path): unknown {
    if (value === null) return nilable(type) ? null : into;
    switch (type.kind) {
      case 'struct':
        return this.struct(value, type, into, path);
      case 'map':
        return this.map(value, type.value, into, path);
      case 'slice':
        return this.slice(value, type.item, into, path);
      case 'array':
        return this.array(value, type.item, type.length, into, path);
      case 'any':
        try {
          return toPlain(value, 0);
        } catch (err: unknown) {
          if (!(err instanceof TooDeepError)) throw err;
          this.refused ??= `${pathText(path)}: nested deeper than ${MAX_FREE_FORM_DEPTH} levels`;
          return null;
        }
      case 'strslice':
        return this.strslice(value, into, path);
      case 'string':
      case 'bytes':
      case 'time':
        if (typeof value === 'string') return value;
        this.fail(path, type.kind, value);
        return into;
      case 'bool':
        if (typeof value === 'boolean') return value;
        this.fail(path, 'bool', value);
        return into;
      case 'int':
      case 'uint':
      case 'float':
        if (typeof value === 'number' && (type.kind === 'float' || Number.isInteger(value)) && !(type.kind === 'uint' && value < 0)) return value;
        this.fail(path, type.kind, value);
        return into;
    }
  }

  private struct(value: unknown, type: StructType, into: unknown, path: Path): unknown {
    if (!isObjectValue(value)) {
      this.fail(path, `object (${type.name})`, value);
      return into;
    }
    const target = isRecord(into) ? into : {};
    for (const [key, child] of entriesOf(value)) {
      const field = fieldFor(type, key);
      if (field === undefined) continue;
      const decoded = this.decode(child, type.fields[field]!, target[field], { parent: path, field });
      if (decoded !== undefined) setOwn(target, field, decoded);
    }
    return target;
  }

  private map(value: unknown, valueType: GoType, into: unknown, path: Path): unknown {
    if (!isObjectValue(value)) {
      this.fail(path, 'object', value);
      return into;
    }
    // Go keeps an existing map and decodes each key's value fresh.
    const target = isRecord(into) ? into : {};
    for (const [key, child] of entriesOf(value)) setOwn(target, key, this.decode(child, valueType, zeroOf(valueType), { parent: path, key }));
    return target;
  }

  private slice(value: unknown, item: GoType, into: unknown, path: Path): unknown {
    if (!Array.isArray(value)) {
      this.fail(path, 'array', value);
      return into;
    }
    if (value.length === 0) return [];
    const previous = Array.isArray(into) ? into : [];
    const known = this.backings.get(previous);
    let backing = known ? known.backing : [...previous];
    let cap = known ? known.cap : previous.length;
    let length = previous.length;
    value.forEach((child: unknown, i) => {
      if (i >= cap) {
        // reflect: MakeSlice(len, cap + cap/2 (at least 4)) and copy the visible elements.
        cap = Math.max(4, cap + Math.floor(cap / 2));
        backing = backing.slice(0, length);
      }
      if (i >= length) length = i + 1;
      backing[i] = this.decode(child, item, i < backing.length && backing[i] !== undefined ? backing[i] : zeroOf(item), { parent: path, index: i });
    });
    length = value.length;
    const visible = backing.slice(0, length);
    this.backings.set(visible, { backing, cap });
    return visible;
  }

  private array(value: unknown, item: GoType, length: number, into: unknown, path: Path): unknown {
    if (!Array.isArray(value)) {
      this.fail(path, 'array', value);
      return into;
    }
    const previous = Array.isArray(into) ? into : [];
    const out: unknown[] = [];
    for (let i = 0; i < length; i++) out.push(i < value.length ? this.decode(value[i], item, previous[i] ?? zeroOf(item), { parent: path, index: i }) : zeroOf(item));
    return out;
  }

  /** strslice.StrSlice.UnmarshalJSON: a list of strings, else one string. */
  private strslice(value: unknown, into: unknown, path: Path): unknown {
    if (typeof value === 'string') return [value];
    if (Array.isArray(value) && value.every((item) => item === null || typeof item === 'string')) return value.map((item: unknown) => item ?? '');
    this.fail(path, 'string or list of strings', value);
    return into;
  }
}

/**
 * Decodes `text` into `type` as dockerd would. Throws JsonSyntaxError where Go's decoder fails to
 * parse (dockerd rejects such a request too).
 */
export function decodeLikeGo(text: string, type: GoType): DecodedBody {
  return decodeParsed(parseFirstValue(text), type);
}

/** Decodes an already parsed value (see parseFirstValue) into `type`. */
export function decodeParsed(parsed: unknown, type: GoType): DecodedBody {
  const decoder = new GoDecoder();
  return decoder.result(decoder.decode(parsed, type, zeroOf(type), ''));
}

/** The entries of a parsed object in order (for callers that decode the top level themselves). */
export function objectEntries(parsed: unknown): ReadonlyArray<readonly [string, unknown]> | undefined {
  return isObjectValue(parsed) ? entriesOf(parsed) : undefined;
}

/** Plain JS of a parsed value, as `interface{}` (for bodies no handler decodes into a type we know). */
export function plainJson(parsed: unknown): DecodedBody {
  return decodeParsed(parsed, { kind: 'any' });
}
