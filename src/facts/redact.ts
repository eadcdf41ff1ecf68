/**
 * Credentials that requests carry, masked before they reach a log line, a detection or a trigger:
 * user info in URLs (`build?remote=https://user:TOKEN@…`, `images/create?fromSrc=https://…`),
 * build-arg values (`buildargs=`), registry and authorization headers, and the secret fields of
 * bodies (secret data, swarm join tokens and unlock keys, registry passwords). Rules still see the
 * request as sent: they run in the sandbox and may need the real values to judge.
 */
import type { Request } from '../rules/api';

export const MASK = '***';

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/?#@\s]*)@/gi;

/** `scheme://user:secret@` -> `scheme://user:***@`; `scheme://token@` -> `scheme://***@`. */
export function redactCredentials(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(URL_USERINFO, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return `${scheme}${colon === -1 ? MASK : `${userinfo.slice(0, colon)}:${MASK}`}@`;
  });
}

/** `{"KEY":"value"}` (build args) with every value masked; unreadable JSON is masked whole. */
function redactBuildArgs(value: string): string {
  try {
    const args = JSON.parse(value) as unknown;
    if (args === null || typeof args !== 'object' || Array.isArray(args)) return MASK;
    return JSON.stringify(Object.fromEntries(Object.keys(args).map((key) => [key, MASK])));
  } catch {
    return MASK;
  }
}

function redactQueryValue(key: string, value: string): string {
  return key === 'buildargs' ? redactBuildArgs(value) : redactCredentials(value);
}

function decodeQueryPart(part: string): string | undefined {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The URI with credentials in its query masked (other pairs keep their exact encoding). */
export function redactUri(uri: string): string {
  const question = uri.indexOf('?');
  const path = redactCredentials(question === -1 ? uri : uri.slice(0, question));
  if (question === -1) return path;
  const pairs = uri
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals === -1) return redactCredentials(pair);
      const key = decodeQueryPart(pair.slice(0, equals)) ?? pair.slice(0, equals);
      const value = decodeQueryPart(pair.slice(equals + 1));
      if (value === undefined) return `${pair.slice(0, equals + 1)}${redactCredentials(pair.slice(equals + 1))}`;
      const redacted = redactQueryValue(key, value);
      return redacted === value ? pair : `${pair.slice(0, equals + 1)}${encodeURIComponent(redacted).replace(/%2A/g, '*')}`;
    });
  return `${path}?${pairs.join('&')}`;
}

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-registry-auth', 'x-registry-config', 'cookie']);

function redactHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? MASK : value;
  return out;
}

/** Body fields that are secrets, per action. */
const SECRET_BODY_FIELDS: Readonly<Record<string, readonly string[]>> = {
  secretsCreate: ['Data'],
  secretsUpdate: ['Data'],
  swarmJoin: ['JoinToken'],
  swarmUnlock: ['UnlockKey'],
  auth: ['password', 'auth', 'identitytoken', 'registrytoken'],
};

function redactBody(action: string, body: unknown): unknown {
  const fields = SECRET_BODY_FIELDS[action];
  if (!fields || body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const out: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const key of Object.keys(out)) if (fields.includes(key) || fields.includes(key.toLowerCase())) out[key] = MASK;
  return out;
}

function redactQuery(query: Readonly<Record<string, string | string[]>>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(query)) out[key] = Array.isArray(value) ? value.map((item) => redactQueryValue(key, item)) : redactQueryValue(key, value);
  return out;
}

function redactRaw(raw: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const lower = key.toLowerCase();
    if (lower === 'requesturi' && typeof value === 'string') out[key] = redactUri(value);
    else if (lower === 'requestheaders' && value !== null && typeof value === 'object') out[key] = redactHeaders(value as Record<string, string>);
    else out[key] = value;
  }
  return out;
}

/** A copy of the request fit for logs, detections and triggers. */
export function redactRequest(request: Request): Request {
  return {
    ...request,
    uri: redactUri(request.uri),
    query: redactQuery(request.query),
    headers: redactHeaders(request.headers),
    body: redactBody(request.action, request.body),
    raw: redactRaw(request.raw),
  };
}
