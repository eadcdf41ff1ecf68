/**
 * AuthZ envelope -> the facts every policy judges: the route dockerd will run, the query and body as
 * dockerd will read them, and what the plugin cannot see. Pure: no I/O, never throws on input.
 *
 * What makes a request impossible to judge faithfully is reported, never guessed around:
 *  - `unreadable`: a body dockerd reads but this reading cannot (syntax, a value of the wrong type,
 *    a free-form field nested too deep), a query `r.ParseForm` refuses, form values in a body that
 *    dockerd merges over the query, a target that does not parse;
 *  - `missingBody`: a body dockerd reads that was not forwarded (chunked, over 1 MiB, not
 *    `application/json`, a URI ending in `/auth`) — the CVE-2024-41110 / CVE-2026-34040 class.
 * The decision (engine/decide.ts) denies both in KILL mode.
 */
import type { Request } from '../rules/api';
import { readContainerWrapper, type WrapperReading } from './container-create';
import { header, mediaType, type AuthzEnvelope } from './envelope';
import { decodeParsed, JsonSyntaxError, parseFirstValue, plainJson } from './go-json';
import { runsBelow } from './api-version';
import { REQUEST_BODIES, type RequestBodySpec } from './request-bodies';
import { parseRequestTarget, type RequestTarget } from './request-uri';
import { routeOf, type MatchedRoute } from './routes';

export interface RequestFacts {
  /** What request rules see. */
  readonly request: Request;
  readonly route: MatchedRoute;
  readonly target: RequestTarget;
  /** The API version the request runs at: its prefix, else the engine's. */
  readonly effectiveApiVersion: string;
  /** Create, commit and legacy-start bodies, read as runconfig's wrapper. */
  readonly wrapper?: WrapperReading;
  /** Why the request cannot be judged as dockerd will run it (each one denies in KILL mode). */
  readonly unreadable: readonly string[];
  /** Why a body dockerd reads is missing from the envelope (AUTHZ_REQUIRE_BODY). */
  readonly missingBody?: string;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Go's http.Request.ParseForm reads a form body for these methods. */
const FORM_BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const MAX_FORWARDED_BODY = 1024 * 1024;
/** What dockerd's API version defaults to when the engine's is not known (Debian's 20.10). */
export const FALLBACK_ENGINE_API_VERSION = '1.41';

/** The rule-facing query: one value as a string, repeated keys as arrays (the shape rules have always read). */
function ruleQuery(query: Readonly<Record<string, readonly string[]>>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of Object.keys(query)) {
    const values = query[key]!;
    const value = values.length === 1 ? values[0]! : [...values];
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}

/** The envelope without its base64 body (rules read the decoded `body`). */
function withoutBody(raw: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) if (key.toLowerCase() !== 'requestbody') rest[key] = raw[key];
  return rest;
}

/** Whether dockerd reads this body at this version (a legacy start body only below API 1.24). */
function bodyIsRead(spec: RequestBodySpec, action: string, apiVersion: string): boolean {
  return action !== 'containersStart' || runsBelow(apiVersion, '1.24');
}

interface BodyReading {
  readonly value: unknown;
  readonly wrapper?: WrapperReading;
  readonly problem?: string;
}

function readBody(text: string, spec: RequestBodySpec | undefined, where: string): BodyReading {
  let parsed: unknown;
  try {
    parsed = parseFirstValue(text);
  } catch (err: unknown) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    return { value: undefined, problem: `the body of ${where} is not valid JSON (${err.message})` };
  }
  if (spec?.decoder === 'container-wrapper') {
    const wrapper = readContainerWrapper(parsed);
    const problem = wrapper.refused ?? wrapper.typeError;
    return { value: wrapper.body, wrapper, ...(problem !== undefined ? { problem: `the body of ${where} does not decode as dockerd decodes it (${problem})` } : {}) };
  }
  const decoded = spec ? decodeParsed(parsed, spec.type) : plainJson(parsed);
  const problem = decoded.refused ?? decoded.typeError;
  return { value: decoded.value, ...(problem !== undefined ? { problem: `the body of ${where} does not decode as dockerd decodes it (${problem})` } : {}) };
}

/**
 * Why a body dockerd would read is not in the envelope, if it is not. dockerd forwards a body only
 * when it is `application/json`, under 1 MiB, not chunked and the URI does not end in `/auth`; Go
 * strips Transfer-Encoding (and a chunked request has no Content-Length), so a chunked body leaves
 * no trace but the missing Content-Length.
 */
function missingBodyReason(envelope: AuthzEnvelope, action: string, spec: RequestBodySpec | undefined, readAtThisVersion: boolean): string | undefined {
  if (!MUTATING.has(envelope.RequestMethod) || envelope.RequestBody !== '') return undefined;
  const lengthHeader = header(envelope.RequestHeaders, 'content-length');
  const length = lengthHeader === undefined ? undefined : Number(lengthHeader);
  const json = mediaType(envelope.RequestHeaders) === 'application/json';
  if (spec && readAtThisVersion) {
    if (spec.emptyBody === 'rejected') return `${action} request without a body reached the authorization plugin (dockerd reads one: chunked, over 1 MiB or not application/json)`;
    if (length === undefined) return `${action} request without Content-Length reached the authorization plugin without a body (a chunked body is never forwarded)`;
    if (length > 0) return `${action} request body of ${length} bytes was not forwarded to the authorization plugin`;
    return undefined;
  }
  if (!json) return undefined;
  if (length !== undefined && length > MAX_FORWARDED_BODY) return `request body was not forwarded to the authorization plugin (Content-Length ${length} > 1 MiB)`;
  if (length !== undefined && length > 0) return `request body was not forwarded to the authorization plugin (Content-Length ${length})`;
  if (length === undefined && /chunked/i.test(header(envelope.RequestHeaders, 'transfer-encoding') ?? '')) {
    return 'request body was not forwarded to the authorization plugin (chunked transfer encoding)';
  }
  return undefined;
}

export interface RequestFactsOptions {
  /** The engine's own API version (what an unprefixed request runs at), when known. */
  readonly engineApiVersion?: string | undefined;
  /** The calling host's name (`r.host`): the client certificate's CN over AUTHZ_TLS_PORT, else HOST_NAME. */
  readonly host?: string;
}

/** Builds the facts of one AuthZ request. */
export function requestFacts(envelope: AuthzEnvelope, options: RequestFactsOptions = {}): RequestFacts {
  const unreadable: string[] = [];
  const parsedTarget = parseRequestTarget(envelope.RequestURI);
  if (!parsedTarget.ok) unreadable.push(parsedTarget.problem);
  const target: RequestTarget = parsedTarget.ok ? parsedTarget.value : { path: '', rawQuery: '', query: {} };
  if (target.queryError !== undefined) unreadable.push(`the query cannot be parsed as dockerd parses it (${target.queryError})`);
  const route = routeOf(envelope.RequestMethod, target.path);
  const effectiveApiVersion = route.apiVersion !== '' ? route.apiVersion : (options.engineApiVersion ?? FALLBACK_ENGINE_API_VERSION);
  const spec = route.body === 'json' ? REQUEST_BODIES[route.action] : undefined;
  const readAtThisVersion = spec !== undefined && bodyIsRead(spec, route.action, route.apiVersion);
  const where = `${envelope.RequestMethod} ${target.path}`;

  let body: unknown;
  let wrapper: WrapperReading | undefined;
  if (envelope.bodyText !== '' && route.body !== 'stream') {
    const reading = readBody(envelope.bodyText, spec, where);
    body = reading.value;
    wrapper = reading.wrapper;
    // A body dockerd never reads cannot hide anything from a rule; an unknown route's body might.
    if (reading.problem !== undefined && (readAtThisVersion || route.namespace === 'unknown')) unreadable.push(reading.problem);
  }
  const formBody = FORM_BODY_METHODS.has(envelope.RequestMethod) && mediaType(envelope.RequestHeaders) === 'application/x-www-form-urlencoded' && header(envelope.RequestHeaders, 'content-length') !== '0';
  if (formBody) unreadable.push('the body is a form whose values dockerd merges over the query (application/x-www-form-urlencoded)');

  const request: Request = {
    method: envelope.RequestMethod,
    uri: envelope.RequestURI,
    path: route.apiVersion !== '' ? target.path.slice(target.path.indexOf('/', 1)) : target.path,
    apiVersion: route.apiVersion,
    query: ruleQuery(target.query),
    action: route.action,
    namespace: route.namespace,
    vars: route.vars,
    user: envelope.User,
    authMethod: envelope.UserAuthNMethod,
    host: options.host ?? '',
    headers: envelope.RequestHeaders,
    body,
    raw: withoutBody(envelope.raw),
  };
  const missingBody = missingBodyReason(envelope, route.action, spec, readAtThisVersion);
  return {
    request,
    route,
    target,
    effectiveApiVersion,
    ...(wrapper ? { wrapper } : {}),
    unreadable,
    ...(missingBody !== undefined ? { missingBody } : {}),
  };
}
