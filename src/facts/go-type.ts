/**
 * The shape of a Go type as far as `encoding/json` cares, so a request body can be decoded the way
 * dockerd decodes it (go-json.ts). What matters per kind:
 *  - which JSON keys are struct fields (matched with Go's case folding) and which are map keys
 *    (kept as written);
 *  - what `null` does: it sets pointers, maps, slices and interfaces to nil and leaves everything
 *    else (a bool, a string, a struct value, a fixed-size array) untouched;
 *  - what a key given twice does: structs, pointers and maps are decoded into again (merged), slice
 *    elements are decoded into in place, scalars are replaced;
 *  - what is a type error (dockerd then rejects the whole request).
 * Types with their own UnmarshalJSON get a kind of their own (`strslice`, `time`).
 */

export type ScalarKind = 'string' | 'bool' | 'int' | 'uint' | 'float';

export type GoType =
  /** A struct; `ptr`: a pointer to it (`null` sets it to nil instead of being ignored). */
  | { readonly kind: 'struct'; readonly name: string; readonly fields: Readonly<Record<string, GoType>>; readonly ptr: boolean }
  /** `map[string]T`: keys kept as written; each key's value is decoded fresh. */
  | { readonly kind: 'map'; readonly value: GoType }
  /** `[]T`. */
  | { readonly kind: 'slice'; readonly item: GoType }
  /** `[N]T`: extra items are ignored, missing ones zeroed; `null` is ignored. */
  | { readonly kind: 'array'; readonly item: GoType; readonly length: number }
  /** string, bool, intN, uintN, floatN (and named types of them); `ptr`: `*T`. */
  | { readonly kind: ScalarKind; readonly ptr: boolean }
  /** `interface{}` or `json.RawMessage`: any JSON, kept as JSON.parse reads it (last duplicate wins). */
  | { readonly kind: 'any' }
  /** `[]byte`: a base64 string. */
  | { readonly kind: 'bytes' }
  /** `strslice.StrSlice`: a string or a list of strings; a string becomes a one-item list. */
  | { readonly kind: 'strslice' }
  /** `time.Time` (UnmarshalJSON): an RFC 3339 string; `null` is ignored. */
  | { readonly kind: 'time'; readonly ptr: boolean };

export type StructType = Extract<GoType, { kind: 'struct' }>;

export const string: GoType = { kind: 'string', ptr: false };
export const bool: GoType = { kind: 'bool', ptr: false };
export const int: GoType = { kind: 'int', ptr: false };
export const uint: GoType = { kind: 'uint', ptr: false };
export const float: GoType = { kind: 'float', ptr: false };
export const any: GoType = { kind: 'any' };
export const bytes: GoType = { kind: 'bytes' };
export const strslice: GoType = { kind: 'strslice' };
export const time: GoType = { kind: 'time', ptr: false };

/** `*T` of a scalar, struct or time type (slices, maps and interfaces are nil-able already). */
export function ptr(type: GoType): GoType {
  if (type.kind === 'struct' || type.kind === 'time' || type.kind === 'string' || type.kind === 'bool' || type.kind === 'int' || type.kind === 'uint' || type.kind === 'float') {
    return { ...type, ptr: true };
  }
  return type;
}

export const slice = (item: GoType): GoType => ({ kind: 'slice', item });
export const array = (item: GoType, length: number): GoType => ({ kind: 'array', item, length });
export const map = (value: GoType): GoType => ({ kind: 'map', value });

/** A struct value type; wrap in `ptr()` for `*T`. Field names are the JSON names (tag or Go name). */
export function struct(name: string, fields: Record<string, GoType>): StructType {
  return { kind: 'struct', name, fields, ptr: false };
}

/** The fields of an embedded (anonymous) struct are promoted into the outer one, as Go does. */
export function embed(...types: StructType[]): Record<string, GoType> {
  return Object.assign({}, ...types.map((type) => type.fields)) as Record<string, GoType>;
}
