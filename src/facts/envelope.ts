/**
 * The AuthZ envelope dockerd posts (moby pkg/authorization/api.go `Request`), parsed and checked.
 * Pure: no I/O. Problems come back as values naming the culprit; an envelope that fails here is not
 * a Docker request at all (DEFAULT_ACTION_ALLOW decides it).
 */
import { goUtf8 } from './go-json';

/** The fields of Docker's authorization.Request (moby pkg/authorization/api.go). */
export interface AuthzEnvelope {
  readonly User: string;
  readonly UserAuthNMethod: string;
  readonly RequestMethod: string;
  readonly RequestURI: string;
  readonly RequestHeaders: Readonly<Record<string, string>>;
  /** Base64 of the raw body, or '' when dockerd forwarded none. */
  readonly RequestBody: string;
  /** RequestBody as text, invalid UTF-8 replaced the way Go's decoder replaces it. */
  readonly bodyText: string;
  readonly raw: Readonly<Record<string, unknown>>;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };


/** Field lookup that tolerates other spellings (`RequestURI`, `requesturi`), as the original did. */
function field(record: Record<string, unknown>, name: string): unknown {
  if (name in record) return record[name];
  const lower = name.toLowerCase();
  const key = Object.keys(record).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : record[key];
}

function stringField(record: Record<string, unknown>, name: string, problems: string[], required: boolean): string {
  const value = field(record, name);
  if (value === undefined || value === null) {
    if (required) problems.push(`${name} is missing`);
    return '';
  }
  if (typeof value !== 'string') {
    problems.push(`${name} must be a string`);
    return '';
  }
  return value;
}

function headersField(record: Record<string, unknown>, problems: string[]): Record<string, string> {
  const value = field(record, 'RequestHeaders');
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push('RequestHeaders must be an object');
    return {};
  }
  const headers: Record<string, string> = {};
  for (const [name, header] of Object.entries(value as Record<string, unknown>)) headers[name] = Array.isArray(header) ? header.join(', ') : String(header);
  return headers;
}

/** Parses the envelope whatever its Content-Type (dockerd sends `application/vnd.docker.plugins.v1.2+json`). */
export function parseEnvelope(body: Buffer): Parsed<AuthzEnvelope> {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (err: unknown) {
    return { ok: false, problem: `envelope is not JSON (${(err as Error).message})` };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, problem: 'envelope must be a JSON object' };
  const record = raw as Record<string, unknown>;
  const problems: string[] = [];
  const requestBody = stringField(record, 'RequestBody', problems, false);
  const bodyText = requestBody === '' ? '' : decodeCanonicalBase64(requestBody);
  if (bodyText === undefined) problems.push('RequestBody is not valid base64');
  const envelope: AuthzEnvelope = {
    User: stringField(record, 'User', problems, false),
    UserAuthNMethod: stringField(record, 'UserAuthNMethod', problems, false),
    // As sent: dockerd's router matches methods case-sensitively.
    RequestMethod: stringField(record, 'RequestMethod', problems, true),
    RequestURI: stringField(record, 'RequestUri', problems, true),
    RequestHeaders: headersField(record, problems),
    RequestBody: requestBody,
    bodyText: bodyText ?? '',
    raw: record,
  };
  if (problems.length > 0) return { ok: false, problem: problems.join('; ') };
  return { ok: true, value: envelope };
}

/**
 * Go's encoding/json writes []byte as standard, padded base64; Buffer.from() would silently skip
 * anything else, so the text must re-encode to itself (~4x faster than a regex over it).
 */
function decodeCanonicalBase64(text: string): string | undefined {
  if (text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? goUtf8(bytes) : undefined;
}


export function header(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/** The media type of Content-Type, lower-cased and without parameters (Go's mime.ParseMediaType), or ''. */
export function mediaType(headers: Readonly<Record<string, string>>): string {
  const value = header(headers, 'content-type') ?? '';
  return value.split(';')[0]!.trim().toLowerCase();
}
