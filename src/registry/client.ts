/**
 * The only registry client: reads manifests, blobs and referrers over the distribution API. Small
 * and typed on purpose — every call carries the caller's deadline, every manifest is requested with
 * all four Accept types and checked against its digest, every blob against its digest, and every
 * body is read with a size cap, so a hostile or hanging registry costs a bounded amount of time and
 * memory and never a wrong answer.
 */
import { createHash } from 'node:crypto';
import { errorMessage } from '../util/errors';
import type { RegistryCredentials } from './credentials';
import { INDEX_TYPES, IMAGE_MANIFEST_TYPES, MANIFEST_ACCEPT, OCI_INDEX } from './media-types';

/** distribution's own limit on a manifest's size. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Tokens are reused until shortly before they expire (distribution's default lifetime is 60 s). */
const TOKEN_MARGIN_MS = 5_000;
const DEFAULT_TOKEN_LIFETIME_S = 60;
const TOKEN_CACHE_LIMIT = 256;

export type RegistryProblem = 'timeout' | 'unreachable' | 'denied' | 'invalid' | 'http';

/** A registry that did not give a usable answer: names the registry, so a denial can say which one. */
export class RegistryError extends Error {
  constructor(
    readonly registry: string,
    readonly problem: RegistryProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`registry ${registry}: ${message}`, options);
    this.name = 'RegistryError';
  }
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly os?: string; readonly architecture?: string; readonly variant?: string };
}

/** An image manifest or an index, as fetched: `digest` is sha256 of `bytes`. */
export interface Manifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly config?: Descriptor;
  readonly layers: readonly Descriptor[];
  /** An index's entries. */
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly artifactType?: string;
}

export interface RegistryClientOptions {
  readonly credentials?: RegistryCredentials;
  /** For tests: the transport. */
  readonly fetch?: typeof fetch;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Where a registry's API lives. Docker Hub's API host is not its name; loopback registries speak
 * plain HTTP, as dockerd treats 127.0.0.0/8 as insecure by default; everything else is HTTPS.
 */
export function registryBaseUrl(registry: string): string {
  if (registry === 'docker.io') return 'https://registry-1.docker.io';
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.split(':')[0]!;
  const loopback = host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '[::1]';
  return `${loopback ? 'http' : 'https'}://${registry}`;
}

interface CachedToken {
  readonly value: string;
  readonly expiresAt: number;
}

export class RegistryClient {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.fetchImpl = options.fetch ?? fetch;
  }

  /**
   * A manifest by tag or digest; undefined when the registry says it does not exist. A manifest
   * fetched by digest must hash to it; one fetched by tag must hash to the digest the registry names.
   */
  async manifest(registry: string, path: string, reference: string, signal: AbortSignal): Promise<Manifest | undefined> {
    const response = await this.get(registry, path, `manifests/${reference}`, signal, { Accept: MANIFEST_ACCEPT });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    await this.expectOk(registry, response, `manifest ${path}:${reference}`);
    const bytes = await readCapped(registry, response, MAX_MANIFEST_BYTES, signal);
    const digest = sha256Digest(bytes);
    const announced = response.headers.get('docker-content-digest');
    if (DIGEST.test(reference) && digest !== reference) throw new RegistryError(registry, 'invalid', `manifest ${path}@${reference} has digest ${digest}`);
    if (announced && announced !== digest) throw new RegistryError(registry, 'invalid', `manifest ${path}:${reference} hashes to ${digest}, not the ${announced} the registry names`);
    return parseManifest(registry, digest, bytes, response.headers.get('content-type') ?? '');
  }

  /** A blob, checked against its digest, at most `maxBytes` long. */
  async blob(registry: string, path: string, digest: string, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
    if (!DIGEST.test(digest)) throw new RegistryError(registry, 'invalid', `blob digest ${JSON.stringify(digest)} is not sha256`);
    const response = await this.get(registry, path, `blobs/${digest}`, signal, {});
    await this.expectOk(registry, response, `blob ${path}@${digest}`);
    const bytes = await readCapped(registry, response, maxBytes, signal);
    if (sha256Digest(bytes) !== digest) throw new RegistryError(registry, 'invalid', `blob ${path}@${digest} does not match its digest`);
    return bytes;
  }

  /** The OCI Referrers API; undefined when the registry has none (distribution 2.8 answers 404). */
  async referrers(registry: string, path: string, digest: string, signal: AbortSignal): Promise<Descriptor[] | undefined> {
    const response = await this.get(registry, path, `referrers/${digest}`, signal, { Accept: OCI_INDEX });
    if (response.status === 404 || response.status === 405 || response.status === 400) {
      await response.body?.cancel();
      return undefined;
    }
    await this.expectOk(registry, response, `referrers of ${path}@${digest}`);
    const bytes = await readCapped(registry, response, MAX_MANIFEST_BYTES, signal);
    return parseManifest(registry, sha256Digest(bytes), bytes, OCI_INDEX).manifests.slice();
  }

  private async get(registry: string, path: string, resource: string, signal: AbortSignal, headers: Record<string, string>): Promise<Response> {
    const url = `${registryBaseUrl(registry)}/v2/${path}/${resource}`;
    const scope = `repository:${path}:pull`;
    const token = this.cachedToken(registry, scope);
    let response = await this.send(registry, url, signal, { ...headers, ...(token ? { Authorization: token } : {}) });
    if (response.status !== 401) return response;
    const challenge = response.headers.get('www-authenticate') ?? '';
    await response.body?.cancel();
    const authorization = await this.authorize(registry, challenge, scope, signal);
    if (!authorization) return response;
    response = await this.send(registry, url, signal, { ...headers, Authorization: authorization });
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new RegistryError(registry, 'denied', `refused our credentials for ${path}`);
    }
    return response;
  }

  private async send(registry: string, url: string, signal: AbortSignal, headers: Record<string, string>): Promise<Response> {
    try {
      // Redirects (blob storage) are followed; each hop is under the same deadline.
      return await this.fetchImpl(url, { headers, signal, redirect: 'follow' });
    } catch (err: unknown) {
      if (signal.aborted) throw new RegistryError(registry, 'timeout', 'did not answer in time', { cause: err });
      throw new RegistryError(registry, 'unreachable', `cannot be reached: ${errorMessage((err as { cause?: unknown }).cause ?? err)}`, { cause: err });
    }
  }

  private async expectOk(registry: string, response: Response, what: string): Promise<void> {
    if (response.ok) return;
    await response.body?.cancel();
    const problem: RegistryProblem = response.status === 401 || response.status === 403 ? 'denied' : 'http';
    throw new RegistryError(registry, problem, `answered HTTP ${response.status} for ${what}`);
  }

  private cachedToken(registry: string, scope: string): string | undefined {
    const key = `${registry} ${scope}`;
    const token = this.tokens.get(key);
    if (!token) return undefined;
    if (token.expiresAt > Date.now()) return token.value;
    this.tokens.delete(key);
    return undefined;
  }

  /** Answers a 401: Basic with stored credentials, or a Bearer token from the realm the registry names. */
  private async authorize(registry: string, challenge: string, scope: string, signal: AbortSignal): Promise<string | undefined> {
    const { scheme, params } = parseChallenge(challenge);
    const basic = this.options.credentials?.basic(registry);
    if (scheme === 'basic') return basic ? `Basic ${basic}` : undefined;
    if (scheme !== 'bearer' || !params['realm']) return undefined;
    let realm: URL;
    try {
      realm = new URL(params['realm']);
    } catch {
      throw new RegistryError(registry, 'invalid', `names a token realm that is not a URL: ${JSON.stringify(params['realm'])}`);
    }
    if (params['service']) realm.searchParams.set('service', params['service']);
    realm.searchParams.set('scope', params['scope'] ?? scope);
    let response: Response;
    try {
      response = await this.fetchImpl(realm, { headers: basic ? { Authorization: `Basic ${basic}` } : {}, signal });
    } catch (err: unknown) {
      if (signal.aborted) throw new RegistryError(registry, 'timeout', `token service ${realm.host} did not answer in time`, { cause: err });
      throw new RegistryError(registry, 'unreachable', `token service ${realm.host} cannot be reached: ${errorMessage(err)}`, { cause: err });
    }
    await this.expectOk(registry, response, `a token from ${realm.host}`);
    const body = parseJson(registry, await readCapped(registry, response, 64 * 1024, signal), 'token') as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!token) throw new RegistryError(registry, 'invalid', `token service ${realm.host} gave no token`);
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    if (this.tokens.size >= TOKEN_CACHE_LIMIT) this.tokens.clear();
    this.tokens.set(`${registry} ${scope}`, { value: `Bearer ${token}`, expiresAt: Date.now() + lifetime * 1000 - TOKEN_MARGIN_MS });
    return `Bearer ${token}`;
  }
}

/** `Bearer realm="https://auth",service="registry",scope="repository:x:pull"` → scheme and parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return { scheme: '', params: {} };
  const params: Record<string, string> = {};
  for (const pair of match[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[pair[1]!.toLowerCase()] = pair[2] !== undefined ? pair[2].replace(/\\(.)/g, '$1') : (pair[3] ?? '');
  }
  return { scheme: match[1]!.toLowerCase(), params };
}

async function readCapped(registry: string, response: Response, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new RegistryError(registry, 'invalid', `sent ${declared} bytes where at most ${maxBytes} are expected`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body ?? []) {
      total += chunk.length;
      if (total > maxBytes) throw new RegistryError(registry, 'invalid', `sent more than the ${maxBytes} bytes expected`);
      chunks.push(Buffer.from(chunk));
    }
  } catch (err: unknown) {
    if (err instanceof RegistryError) throw err;
    if (signal.aborted) throw new RegistryError(registry, 'timeout', 'did not answer in time', { cause: err });
    throw new RegistryError(registry, 'unreachable', `broke off an answer: ${errorMessage(err)}`, { cause: err });
  }
  return Buffer.concat(chunks);
}

function parseJson(registry: string, bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RegistryError(registry, 'invalid', `sent a ${what} that is not JSON`);
  }
}

function descriptorOf(value: unknown): Descriptor | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['digest'] !== 'string' || typeof v['mediaType'] !== 'string') return undefined;
  return {
    mediaType: v['mediaType'],
    digest: v['digest'],
    size: typeof v['size'] === 'number' ? v['size'] : 0,
    ...(typeof v['artifactType'] === 'string' ? { artifactType: v['artifactType'] } : {}),
    ...(isStringRecord(v['annotations']) ? { annotations: v['annotations'] } : {}),
    ...(typeof v['platform'] === 'object' && v['platform'] !== null ? { platform: v['platform'] as Descriptor['platform'] & object } : {}),
  };
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string');
}

/** Reads the fields we use; a schema1 manifest or anything else unknown is refused, never guessed at. */
export function parseManifest(registry: string, digest: string, bytes: Buffer, contentType: string): Manifest {
  const json = parseJson(registry, bytes, 'manifest');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new RegistryError(registry, 'invalid', `manifest ${digest} is not a JSON object`);
  const m = json as Record<string, unknown>;
  const mediaType = typeof m['mediaType'] === 'string' ? m['mediaType'] : contentType.split(';')[0]!.trim();
  if (!INDEX_TYPES.has(mediaType) && !IMAGE_MANIFEST_TYPES.has(mediaType)) throw new RegistryError(registry, 'invalid', `manifest ${digest} has media type ${JSON.stringify(mediaType)}, none of the four requested`);
  const list = (value: unknown): Descriptor[] => (Array.isArray(value) ? value.map(descriptorOf).filter((d): d is Descriptor => d !== undefined) : []);
  const config = descriptorOf(m['config']);
  const subject = descriptorOf(m['subject']);
  return {
    digest,
    mediaType,
    bytes,
    layers: list(m['layers']),
    manifests: list(m['manifests']),
    ...(config ? { config } : {}),
    ...(subject ? { subject } : {}),
    ...(typeof m['artifactType'] === 'string' ? { artifactType: m['artifactType'] } : {}),
  };
}
