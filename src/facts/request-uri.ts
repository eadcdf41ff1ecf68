/**
 * The request target as dockerd's Go HTTP stack reads it, so the action a rule judges is the route
 * dockerd runs. A browser-style URL parser differs in ways that matter: it decodes `%2E` only in
 * some places, turns `\` into `/`, drops `#…`, and rejects absolute-form targets
 * (`POST http://x/v1.41/containers/create`) that Go's server accepts. Here:
 *  - `url.ParseRequestURI`: `*`, an origin-form `/path?query`, or an absolute-form
 *    `scheme://authority/path?query` (the path is what routing sees; `scheme:rest` is opaque and has none);
 *  - the path is percent-decoded as `url.unescape(s, encodePath)` (bad escapes are an error, `+` stays);
 *  - gorilla/mux routes on that decoded path (version prefix included) and answers a path that is not
 *    clean with a redirect before any handler (or plugin) runs;
 *  - the query is `url.ParseQuery` (Go 1.17+): pairs joined by `&`; a pair with `;` or a bad escape
 *    is dropped and makes `r.ParseForm` fail, which dockerd handlers answer with 400; `r.Form.Get`
 *    takes the first value of a key.
 */
import { goUtf8 } from './go-json';

export interface RequestTarget {
  /** The decoded path routing sees ('' for an opaque target). */
  readonly path: string;
  readonly rawQuery: string;
  /** Every value of every key, in order. */
  readonly query: Readonly<Record<string, readonly string[]>>;
  /** Why `r.ParseForm()` fails on this query (dockerd then rejects the request), if it does. */
  readonly queryError?: string;
}

export type ParsedTarget = { readonly ok: true; readonly value: RequestTarget } | { readonly ok: false; readonly problem: string };

function isHex(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

/** Go's url.unescape: `%XX` must be two hex digits; `+` becomes a space only in query components. */
export function goUnescape(text: string, plusIsSpace: boolean): string | undefined {
  if (!text.includes('%') && !(plusIsSpace && text.includes('+'))) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25) {
      if (i + 2 >= text.length || !isHex(text.charCodeAt(i + 1)) || !isHex(text.charCodeAt(i + 2))) return undefined;
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code === 0x2b && plusIsSpace) {
      bytes.push(0x20);
    } else {
      for (const byte of Buffer.from(text[i]!, 'utf8')) bytes.push(byte);
    }
  }
  return goUtf8(Buffer.from(bytes));
}

/** url.ParseQuery (Go 1.17+). */
export function parseGoQuery(rawQuery: string): { query: Record<string, string[]>; error?: string } {
  const query: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  let error: string | undefined;
  for (const pair of rawQuery.split('&')) {
    if (pair.includes(';')) {
      error ??= 'invalid semicolon separator in query';
      continue;
    }
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = goUnescape(equals === -1 ? pair : pair.slice(0, equals), true);
    const value = goUnescape(equals === -1 ? '' : pair.slice(equals + 1), true);
    if (key === undefined || value === undefined) {
      error ??= `invalid URL escape in query pair ${JSON.stringify(pair.slice(0, 64))}`;
      continue;
    }
    (query[key] ??= []).push(value);
  }
  return error === undefined ? { query } : { query, error };
}

/** The scheme of an absolute-form target (Go's getScheme), or '' when there is none. */
function schemeLength(uri: string): number {
  for (let i = 0; i < uri.length; i++) {
    const char = uri[i]!;
    if (/[A-Za-z]/.test(char)) continue;
    if (/[0-9+.-]/.test(char)) {
      if (i === 0) return 0;
      continue;
    }
    return char === ':' && i > 0 ? i : 0;
  }
  return 0;
}

/** Parses a RequestUri as dockerd's HTTP server did. */
export function parseRequestTarget(uri: string): ParsedTarget {
  if (/[\x00-\x1f\x7f]/.test(uri)) return { ok: false, problem: 'RequestUri contains a control character' };
  if (uri === '') return { ok: false, problem: 'RequestUri is empty' };
  if (uri === '*') return { ok: true, value: { path: '*', rawQuery: '', query: {} } };
  const scheme = schemeLength(uri);
  let rest = scheme > 0 ? uri.slice(scheme + 1) : uri;
  let rawQuery = '';
  if (rest.endsWith('?') && rest.indexOf('?') === rest.length - 1) rest = rest.slice(0, -1);
  else {
    const question = rest.indexOf('?');
    if (question !== -1) {
      rawQuery = rest.slice(question + 1);
      rest = rest.slice(0, question);
    }
  }
  const { query, error } = parseGoQuery(rawQuery);
  const withQuery = (path: string): ParsedTarget => ({ ok: true, value: error === undefined ? { path, rawQuery, query } : { path, rawQuery, query, queryError: error } });
  if (!rest.startsWith('/')) {
    if (scheme > 0) return withQuery(''); // opaque: nothing to route
    return { ok: false, problem: 'RequestUri is neither a path nor an absolute URI' };
  }
  if (scheme > 0 && rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    rest = slash === -1 ? '' : rest.slice(slash);
  }
  const path = goUnescape(rest, false);
  if (path === undefined) return { ok: false, problem: `RequestUri has an invalid escape in its path` };
  return withQuery(path);
}

/** gorilla/mux's cleanPath: path.Clean, keeping a trailing slash. dockerd redirects any path it changes. */
export function cleanPath(path: string): string {
  if (path === '') return '/';
  const rooted = path.startsWith('/') ? path : `/${path}`;
  const parts: string[] = [];
  for (const part of rooted.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  let cleaned = `/${parts.join('/')}`;
  if (rooted.endsWith('/') && cleaned !== '/') cleaned += '/';
  return cleaned;
}

/** `r.Form.Get(key)`: the first value, or ''. */
export function formValue(query: Readonly<Record<string, readonly string[]>>, key: string): string {
  return Object.prototype.hasOwnProperty.call(query, key) ? (query[key]![0] ?? '') : '';
}
