/**
 * Signs images in a test registry the way cosign does, with keys made by node:crypto, so image-trust
 * tests need no cosign binary (Debian has none). Two layouts:
 * - legacy (cosign 2.x and older): a `sha256-<hex>.sig` tag holding simple-signing payloads;
 * - bundle (cosign 3.x default): a Sigstore bundle v0.3 with a DSSE-wrapped in-toto statement,
 *   pushed as an OCI 1.1 referrer plus the referrers-tag fallback index (`sha256-<hex>`), because
 *   registry 2.8 has no Referrers API.
 *
 * Deliberately imports nothing from src/: the enforcer's verifier must be checked against an
 * independent producer, not against its own encoder.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  simpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  sigstoreBundle: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  inToto: 'application/vnd.in-toto+json',
} as const;

export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';

/**
 * Registry 2.8 answers a request without these with a schema1 conversion of the manifest, which
 * has another digest; every manifest read must send all four.
 */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.ociIndex].join(', ');

const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const DIGEST = /^sha256:([a-f0-9]{64})$/;
const REQUEST_TIMEOUT_MS = 10_000;

export interface SigningKey {
  readonly privateKey: KeyObject;
  /** PKIX 'PUBLIC KEY' PEM, the format of cosign.pub. */
  readonly publicKeyPem: string;
}

export interface ManifestRef {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  /** The config blob's digest (for an image manifest: the local image Id); absent for an index. */
  readonly configDigest?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface FetchedManifest extends ManifestRef {
  /** The bytes exactly as served: the digest is over these. */
  readonly body: Buffer;
  readonly json: Record<string, unknown>;
}

/** An ECDSA P-256 key pair, what `cosign generate-key-pair` makes. */
export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Writes the public key as `dir/name` (e.g. name 'cosign.pub') and returns that path. */
export async function writePublicKey(dir: string, name: string, key: SigningKey): Promise<string> {
  if (name !== path.basename(name) || name === '' || name === '.' || name === '..') throw new Error(`${JSON.stringify(name)} is not a plain file name`);
  const file = path.join(dir, name);
  await writeFile(file, key.publicKeyPem, { mode: 0o644 });
  return file;
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function digestHex(digest: string): string {
  const match = DIGEST.exec(digest);
  if (!match) throw new Error(`${JSON.stringify(digest)} is not a sha256 digest`);
  return match[1] as string;
}

/** The tag cosign 2.x stores signatures under: `sha256:<hex>` → `sha256-<hex>.sig`. */
export function legacySignatureTag(manifestDigest: string): string {
  return `sha256-${digestHex(manifestDigest)}.sig`;
}

/** The OCI referrers-tag-schema fallback tag: `sha256:<hex>` → `sha256-<hex>`. */
export function referrersTag(manifestDigest: string): string {
  return `sha256-${digestHex(manifestDigest)}`;
}

/** The Sigstore public-key hint cosign/sigstore-go write: base64 of SHA-256 over the DER SPKI. */
export function publicKeyHint(key: SigningKey | KeyObject | string): string {
  const publicKey = typeof key === 'string' ? createPublicKey(key) : 'publicKeyPem' in key ? createPublicKey(key.publicKeyPem) : key;
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

/** DSSE pre-authentication encoding; lengths are byte lengths in ASCII decimal. */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** The simple-signing payload cosign signs for `reference` ('HOST/REPOSITORY', no tag). */
export function simpleSigningPayload(reference: string, manifestDigest: string): Buffer {
  digestHex(manifestDigest);
  return Buffer.from(
    JSON.stringify({
      critical: { identity: { 'docker-reference': reference }, image: { 'docker-manifest-digest': manifestDigest }, type: 'cosign container image signature' },
      optional: null,
    }),
  );
}

/** A Sigstore bundle v0.3 (JSON text) for a key-based cosign 3 signature of `manifestDigest`; no tlog entry, no timestamp. */
export function signatureBundle(reference: string, manifestDigest: string, key: SigningKey): string {
  const statement = Buffer.from(
    JSON.stringify({
      _type: IN_TOTO_STATEMENT_V1,
      subject: [{ name: reference, digest: { sha256: digestHex(manifestDigest) } }],
      predicateType: COSIGN_SIGN_PREDICATE,
      predicate: {},
    }),
  );
  const signature = sign('sha256', preAuthEncoding(MEDIA_TYPES.inToto, statement), key.privateKey);
  return JSON.stringify({
    mediaType: MEDIA_TYPES.sigstoreBundle,
    verificationMaterial: { publicKey: { hint: publicKeyHint(key) }, tlogEntries: [], timestampVerificationData: {} },
    dsseEnvelope: { payload: statement.toString('base64'), payloadType: MEDIA_TYPES.inToto, signatures: [{ sig: signature.toString('base64'), keyid: '' }] },
  });
}

function checkRepository(repository: string): void {
  if (!REPOSITORY.test(repository)) throw new Error(`${JSON.stringify(repository)} is not a repository path (e.g. 'app' or 'team/app')`);
}

async function request(url: string | URL, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

async function failure(what: string, res: Response): Promise<Error> {
  const text = await res.text().catch(() => '');
  return new Error(`${what}: HTTP ${res.status} ${text.slice(0, 500)}`);
}

/** GET a manifest with all four Accept types; undefined when the registry says 404. */
export async function getManifest(registryUrl: string, repository: string, reference: string): Promise<FetchedManifest | undefined> {
  checkRepository(repository);
  const res = await request(`${registryUrl}/v2/${repository}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT } });
  if (res.status === 404) {
    await res.arrayBuffer();
    return undefined;
  }
  if (res.status !== 200) throw await failure(`GET manifest ${repository}:${reference}`, res);
  const body = Buffer.from(await res.arrayBuffer());
  const digest = sha256Digest(body);
  const served = res.headers.get('docker-content-digest');
  if (served !== null && served !== digest) throw new Error(`manifest ${repository}:${reference}: Docker-Content-Digest ${served} but the body hashes to ${digest}`);
  if (DIGEST.test(reference) && reference !== digest) throw new Error(`manifest ${repository}@${reference}: the body hashes to ${digest}`);
  const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  const mediaType = typeof json.mediaType === 'string' ? json.mediaType : (res.headers.get('content-type') ?? '');
  const config = json.config as { digest?: unknown } | undefined;
  const configDigest = typeof config?.digest === 'string' ? config.digest : undefined;
  return { digest, mediaType, size: body.length, ...(configDigest === undefined ? {} : { configDigest }), body, json };
}

/** The digest, media type and size of `repository:reference` ('1.0' or 'sha256:...'), as a verifier must compute them. */
export async function resolveManifest(registryUrl: string, repository: string, reference: string): Promise<ManifestRef> {
  const manifest = await getManifest(registryUrl, repository, reference);
  if (!manifest) throw new Error(`no manifest ${repository}:${reference} in ${registryUrl}`);
  const { digest, mediaType, size, configDigest } = manifest;
  return configDigest === undefined ? { digest, mediaType, size } : { digest, mediaType, size, configDigest };
}

/** A blob's bytes, checked against its digest. */
export async function getBlob(registryUrl: string, repository: string, digest: string): Promise<Buffer> {
  checkRepository(repository);
  const res = await request(`${registryUrl}/v2/${repository}/blobs/${digest}`);
  if (res.status !== 200) throw await failure(`GET blob ${repository}@${digest}`, res);
  const body = Buffer.from(await res.arrayBuffer());
  if (sha256Digest(body) !== digest) throw new Error(`blob ${repository}@${digest} hashes to ${sha256Digest(body)}`);
  return body;
}

/** Monolithic upload (POST then PUT ?digest=); skipped when the repository already has the blob. */
export async function pushBlob(registryUrl: string, repository: string, data: Buffer): Promise<{ digest: string; size: number }> {
  checkRepository(repository);
  const digest = sha256Digest(data);
  const head = await request(`${registryUrl}/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });
  if (head.status !== 200) {
    const start = await request(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) throw await failure(`POST blob upload to ${repository}`, start);
    await start.arrayBuffer();
    const location = start.headers.get('location');
    if (!location) throw new Error(`POST blob upload to ${repository}: no Location header`);
    const target = new URL(location, registryUrl);
    target.searchParams.set('digest', digest);
    const put = await request(target, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: data });
    if (put.status !== 201) throw await failure(`PUT blob ${digest} to ${repository}`, put);
    await put.arrayBuffer();
  }
  return { digest, size: data.length };
}

/** PUT a manifest under `tag`, or under its own digest without one; returns its descriptor (checked against the registry's digest). */
export async function pushManifest(registryUrl: string, repository: string, manifest: Record<string, unknown>, tag?: string): Promise<Descriptor> {
  checkRepository(repository);
  const mediaType = manifest.mediaType;
  if (typeof mediaType !== 'string') throw new Error('a manifest to push needs its mediaType field');
  const body = Buffer.from(JSON.stringify(manifest));
  const digest = sha256Digest(body);
  const reference = tag ?? digest;
  const res = await request(`${registryUrl}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'Content-Type': mediaType },
    body,
  });
  if (res.status !== 201) throw await failure(`PUT manifest ${repository}:${reference}`, res);
  await res.arrayBuffer();
  const served = res.headers.get('docker-content-digest');
  if (served !== null && served !== digest) throw new Error(`PUT manifest ${repository}:${reference}: the registry says ${served}, the body hashes to ${digest}`);
  return { mediaType, digest, size: body.length };
}

/** Deletes a manifest by digest (registry 2.8 cannot delete by tag; this removes every tag on it). */
export async function deleteManifest(registryUrl: string, repository: string, digest: string): Promise<void> {
  checkRepository(repository);
  digestHex(digest);
  const res = await request(`${registryUrl}/v2/${repository}/manifests/${digest}`, { method: 'DELETE' });
  if (res.status !== 202) throw await failure(`DELETE manifest ${repository}@${digest}`, res);
  await res.arrayBuffer();
}

interface LayerDescriptor extends Descriptor {
  readonly annotations: Readonly<Record<string, string>>;
}

/**
 * The config go-containerregistry writes for a cosign signature image: one diff_id and one
 * history entry per layer, zero timestamps (signature images are reproducible).
 */
function signatureImageConfig(layers: readonly Descriptor[]): Buffer {
  const created = '0001-01-01T00:00:00Z';
  return Buffer.from(
    JSON.stringify({
      architecture: '',
      created,
      history: layers.map(() => ({ created })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
      config: {},
    }),
  );
}

/**
 * cosign ≤ 2: one more simplesigning layer on the `sha256-<hex>.sig` tag of `repository` (created
 * when missing), signed for the identity `registryHost/repository`. A read-modify-write of the tag,
 * as in cosign: concurrent signings of one image can lose a signature.
 */
export async function signLegacy(registryUrl: string, registryHost: string, repository: string, manifestDigest: string, key: SigningKey): Promise<void> {
  checkRepository(repository);
  const tag = legacySignatureTag(manifestDigest);
  const payload = simpleSigningPayload(`${registryHost}/${repository}`, manifestDigest);
  const signature = sign('sha256', payload, key.privateKey).toString('base64');
  const blob = await pushBlob(registryUrl, repository, payload);

  const existing = await getManifest(registryUrl, repository, tag);
  const previous = existing ? ((existing.json.layers ?? []) as LayerDescriptor[]) : [];
  const layers: LayerDescriptor[] = [...previous, { mediaType: MEDIA_TYPES.simpleSigning, size: blob.size, digest: blob.digest, annotations: { [SIGNATURE_ANNOTATION]: signature } }];
  const config = await pushBlob(registryUrl, repository, signatureImageConfig(layers));
  await pushManifest(
    registryUrl,
    repository,
    { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: MEDIA_TYPES.ociConfig, size: config.size, digest: config.digest }, layers },
    tag,
  );
}

/**
 * cosign 3: a bundle referrer of `subject` in `repository`, pushed by digest, and an entry for it
 * in the referrers-tag index `sha256-<hex>` (merged with what the tag already lists; like the .sig
 * tag, a read-modify-write that concurrent signings of one image can race on).
 */
export async function signBundle(registryUrl: string, registryHost: string, repository: string, subject: ManifestRef, key: SigningKey): Promise<void> {
  checkRepository(repository);
  const bundle = Buffer.from(signatureBundle(`${registryHost}/${repository}`, subject.digest, key));
  const bundleBlob = await pushBlob(registryUrl, repository, bundle);
  const empty = await pushBlob(registryUrl, repository, Buffer.from('{}'));
  const annotations = {
    'dev.sigstore.bundle.content': 'dsse-envelope',
    'dev.sigstore.bundle.predicateType': COSIGN_SIGN_PREDICATE,
    'org.opencontainers.image.created': new Date().toISOString(),
  };
  const referrer = await pushManifest(registryUrl, repository, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: MEDIA_TYPES.sigstoreBundle,
    config: { mediaType: MEDIA_TYPES.ociEmpty, digest: empty.digest, size: empty.size },
    layers: [
      {
        mediaType: MEDIA_TYPES.sigstoreBundle,
        digest: bundleBlob.digest,
        size: bundleBlob.size,
        annotations: { 'org.opencontainers.image.title': `sha256-${digestHex(bundleBlob.digest)}.sigstore.json` },
      },
    ],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  });

  const tag = referrersTag(subject.digest);
  const existing = await getManifest(registryUrl, repository, tag);
  const listed = existing ? ((existing.json.manifests ?? []) as Descriptor[]) : [];
  const entry: Descriptor = { ...referrer, artifactType: MEDIA_TYPES.sigstoreBundle, annotations };
  await pushManifest(
    registryUrl,
    repository,
    { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [...listed.filter((d) => d.digest !== referrer.digest), entry] },
    tag,
  );
}
