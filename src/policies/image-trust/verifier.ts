/**
 * Verifies images against the trust settings: the registry allow-list, a signature by one of our
 * keys over the manifest digest, and — for an image that is about to run — that the signed manifest
 * describes the very image on this host (its config digest is the local image `Id`; `docker tag`
 * can point a trusted name at anything, but cannot change an Id).
 *
 * Verdicts are facts for the decision, not decisions: a registry that does not answer in time is an
 * untrusted verdict naming the registry (fail-closed), never an exception. Successful verifications
 * are cached (bounded, with a TTL); concurrent asks for the same image share one registry conversation.
 */
import type { DockerClient, ImageIdentity } from '../../docker/client';
import { DockerError } from '../../docker/client';
import { isImageId, normaliseRegistryHost, parseImageReference, type ImageReference, type ParsedReference } from '../../facts/image-reference';
import { RegistryClient, RegistryError, type Manifest } from '../../registry/client';
import { findSignature, type SignatureLayout } from '../../registry/cosign';
import { INDEX_TYPES } from '../../registry/media-types';
import { errorMessage } from '../../util/errors';
import type { ImageTrustSettings } from './settings';

/** What a container rule sees as `c.imageTrust`, and what a denial says. */
export interface TrustVerdict {
  readonly trusted: boolean;
  /** The image as the request or the container names it. */
  readonly image: string;
  readonly registry?: string;
  readonly repository?: string;
  /** The manifest digest that was verified (or that failed). */
  readonly digest?: string;
  /** Fingerprint and file of the key whose signature verified. */
  readonly key?: string;
  readonly keyFile?: string;
  readonly layout?: SignatureLayout;
  /** Why not trusted. */
  readonly reason?: string;
  /** The registry did not give an answer (timeout, unreachable, refused): a fault, not a "no". */
  readonly unavailable?: boolean;
}

export type VerificationSource = 'cache' | 'registry';

export interface VerificationObserver {
  (verdict: TrustVerdict, source: VerificationSource, seconds: number): void;
}

export interface ImageTrustVerifierDeps {
  readonly settings: ImageTrustSettings;
  readonly docker: Pick<DockerClient, 'imageInspect' | 'inspect'>;
  readonly registry?: RegistryClient;
  readonly observe?: VerificationObserver;
  readonly now?: () => number;
  /**
   * Whether what dockerd resolves an image name or id to may be remembered: only while an image
   * event feed that forgets it (tag, untag, pull, push, load, import, delete) is connected.
   */
  readonly identitiesCacheable?: () => boolean;
}

/** Bounds: a few thousand images is more than a host runs; an index with more platforms than this is not searched further. */
const CACHE_LIMIT = 4096;
const MAX_INDEX_CHILDREN = 32;
const MAX_REPO_DIGESTS = 4;
/** How long an untrusted verdict is reused: a signature added meanwhile counts within a minute. */
const NEGATIVE_TTL_MS = 60_000;

/**
 * Parsing a reference is pure but not free (~1-2 µs), and a create parses its image and every
 * RepoDigest: the few names a host uses are parsed once.
 */
const parsedNames = new Map<string, ParsedReference>();
function parseName(text: string): ParsedReference {
  let parsed = parsedNames.get(text);
  if (!parsed) {
    parsed = parseImageReference(text);
    if (parsedNames.size >= CACHE_LIMIT) parsedNames.clear();
    parsedNames.set(text, parsed);
  }
  return parsed;
}

interface CacheEntry {
  readonly verdict: TrustVerdict;
  readonly expiresAt: number;
}

/** The local image the verdict is about: absent means dockerd will answer "no such image" itself. */
export type LocalVerdict = TrustVerdict | 'absent';

export class ImageTrustVerifier {
  private readonly registry: RegistryClient;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<TrustVerdict>>();
  /** What dockerd resolved an image name or id to: saves a dockerd call per cached create. */
  private readonly identities = new Map<string, ImageIdentity>();
  private readonly now: () => number;

  constructor(private readonly deps: ImageTrustVerifierDeps) {
    this.registry = deps.registry ?? new RegistryClient(deps.settings.credentials ? { credentials: deps.settings.credentials } : {});
    this.now = deps.now ?? Date.now;
  }

  /** An image was tagged, untagged, pulled, loaded, imported or deleted: names may resolve differently now. */
  forgetImageNames(): void {
    this.identities.clear();
  }

  get settings(): ImageTrustSettings {
    return this.deps.settings;
  }

  /** Whether a registry host (normalised) is on the allow-list. */
  isTrustedRegistry(registry: string): boolean {
    // Host names are case-insensitive: `Registry.Example.com/app` is the trusted `registry.example.com`.
    if (this.deps.settings.registries.includes(registry)) return true;
    const host = normaliseRegistryHost(registry);
    return host.ok && this.deps.settings.registries.includes(host.host);
  }

  /**
   * An image named for the registry to deliver (pull, service, plugin): allow-listed registry, and
   * with keys, a signature over the digest the tag resolves to right now.
   */
  async remote(image: string): Promise<TrustVerdict> {
    const parsed = parseName(image);
    if (!parsed.ok) return { trusted: false, image, reason: `${JSON.stringify(image)} is not an image reference: ${parsed.problem}` };
    const ref = parsed.ref;
    const untrusted = this.registryVerdict(image, ref);
    if (untrusted) return untrusted;
    if (this.deps.settings.keys.length === 0) return { trusted: true, image, registry: ref.registry, repository: ref.repository, ...(ref.digest ? { digest: ref.digest } : {}) };
    let digest = ref.digest;
    if (!digest) {
      // A tag is asked for every time (one round trip): it can be moved to another image at any
      // moment, a digest cannot. Only what the digest is signed by is cached.
      const started = process.hrtime.bigint();
      try {
        digest = await this.resolveTag(ref, AbortSignal.timeout(this.deps.settings.timeoutMs));
      } catch (err: unknown) {
        const verdict = this.faultVerdict(err, image);
        this.deps.observe?.(verdict, 'registry', Number(process.hrtime.bigint() - started) / 1e9);
        return verdict;
      }
      if (!digest) return { trusted: false, image, registry: ref.registry, repository: ref.repository, reason: `${ref.canonical} does not exist at registry ${ref.registry}` };
    }
    const resolved = digest;
    return this.verify(`signature ${ref.repository}@${resolved}`, image, (signal) => this.signatureVerdict(image, ref, resolved, signal));
  }

  /** A name an image is given (push, tag, commit, build targets): only the registry is checked. */
  target(image: string): TrustVerdict {
    const parsed = parseName(image);
    if (!parsed.ok) return { trusted: false, image, reason: `${JSON.stringify(image)} is not an image reference: ${parsed.problem}` };
    return this.registryVerdict(image, parsed.ref) ?? { trusted: true, image, registry: parsed.ref.registry, repository: parsed.ref.repository };
  }

  /**
   * A local image about to run, by name or id, as dockerd would resolve it. The name's registry must
   * be trusted; then one of the image's RepoDigests in a trusted registry must verify, and its
   * manifest must describe this image.
   */
  async local(image: string): Promise<LocalVerdict> {
    let preferred: ImageReference | undefined;
    let nameVerdict: TrustVerdict | undefined;
    if (!isImageId(image)) {
      const parsed = parseName(image);
      if (parsed.ok) {
        preferred = parsed.ref;
        nameVerdict = this.registryVerdict(image, parsed.ref);
      }
    }
    // `docker run 3f2a…` names an id prefix, which dockerd resolves when no image has that name.
    const idPrefix = /^[a-f0-9]{1,64}$/.test(image);
    if (nameVerdict && !idPrefix) return nameVerdict;
    let inspected: ImageIdentity;
    try {
      inspected = await this.identity(image);
    } catch (err: unknown) {
      if (err instanceof DockerError && err.notFound) return 'absent';
      return { trusted: false, image, reason: `cannot inspect image ${JSON.stringify(image)}: ${errorMessage(err)}`, unavailable: true };
    }
    if (nameVerdict && !inspected.id.startsWith(`sha256:${image}`)) return nameVerdict;
    return this.localImage(image, inspected, nameVerdict ? undefined : preferred);
  }

  /** The image a container runs (by its immutable image id), for start, periodic and events checks. */
  async containerImage(imageId: string, configImage: string): Promise<TrustVerdict> {
    if (imageId === '') return { trusted: false, image: configImage, reason: "the container's image id is not known", unavailable: true };
    let preferred: ImageReference | undefined;
    const parsed = isImageId(configImage) ? undefined : parseName(configImage);
    if (parsed?.ok) preferred = parsed.ref;
    let inspected: ImageIdentity;
    try {
      inspected = await this.identity(imageId);
    } catch (err: unknown) {
      if (err instanceof DockerError && err.notFound) return { trusted: false, image: configImage || imageId, reason: `the container's image ${imageId} is no longer on this host` };
      return { trusted: false, image: configImage || imageId, reason: `cannot inspect image ${imageId}: ${errorMessage(err)}`, unavailable: true };
    }
    return this.localImage(configImage || imageId, inspected, preferred);
  }

  /**
   * dockerd's answer to `docker image inspect REF`, remembered while image events are watched. A
   * name re-tagged before its event arrives can at worst let a create through: the start is judged
   * by the container's image id.
   */
  private async identity(ref: string): Promise<ImageIdentity> {
    const known = this.identities.get(ref);
    if (known) return known;
    const inspected = await this.deps.docker.imageInspect(ref);
    if (this.deps.identitiesCacheable?.()) {
      if (this.identities.size >= CACHE_LIMIT) this.identities.clear();
      this.identities.set(ref, inspected);
    }
    return inspected;
  }

  private async localImage(image: string, inspected: ImageIdentity, preferred: ImageReference | undefined): Promise<TrustVerdict> {
    const candidates = trustedRepoDigests(inspected.repoDigests, (registry) => this.isTrustedRegistry(registry), preferred);
    if (candidates.length === 0) {
      const source = inspected.repoDigests.length === 0 ? 'it came from no registry (built, loaded, imported, committed or re-tagged here)' : `none of its registry digests is from a trusted registry (${this.deps.settings.registries.join(', ')})`;
      return { trusted: false, image, reason: `${image} (${inspected.id}): ${source}` };
    }
    let last: TrustVerdict | undefined;
    for (const { ref, digest } of candidates.slice(0, MAX_REPO_DIGESTS)) {
      last = await this.verify(`local ${ref.repository}@${digest} ${inspected.id}`, image, async (signal) => {
        const [content, signature] = await Promise.all([
          this.contentProblem(ref, digest, inspected.id, signal),
          this.deps.settings.keys.length > 0 ? this.signatureVerdict(image, ref, digest, signal) : undefined,
        ]);
        if (content) return { trusted: false, image, registry: ref.registry, repository: ref.repository, digest, reason: content };
        return signature ?? { trusted: true, image, registry: ref.registry, repository: ref.repository, digest };
      });
      if (last.trusted || last.unavailable) return last;
    }
    return last!;
  }

  private registryVerdict(image: string, ref: ImageReference): TrustVerdict | undefined {
    if (this.isTrustedRegistry(ref.registry)) return undefined;
    return { trusted: false, image, registry: ref.registry, repository: ref.repository, reason: `${ref.canonical} is from registry ${ref.registry}, which is not trusted (TRUSTED_REGISTRIES: ${this.deps.settings.registries.join(', ')})` };
  }

  private async resolveTag(ref: ImageReference, signal: AbortSignal): Promise<string | undefined> {
    const manifest = await this.registry.manifest(ref.registry, ref.path, ref.tag ?? 'latest', signal);
    return manifest?.digest;
  }

  private async signatureVerdict(image: string, ref: ImageReference, digest: string, signal: AbortSignal): Promise<TrustVerdict> {
    const base = { image, registry: ref.registry, repository: ref.repository, digest };
    const check = await findSignature(this.registry, { registry: ref.registry, path: ref.path, digest }, this.deps.settings.keys, signal);
    if (check.verified) return { ...base, trusted: true, key: check.key.fingerprint, keyFile: check.key.file, layout: check.layout };
    return { ...base, trusted: false, reason: `${ref.repository}@${digest} is not signed by a trusted key: ${check.reason}` };
  }

  /** Why the manifest at `digest` does not describe local image `imageId`, or undefined when it does. */
  private async contentProblem(ref: ImageReference, digest: string, imageId: string, signal: AbortSignal): Promise<string | undefined> {
    // With the containerd image store (the default on new installs of recent engines) an image's Id is the digest it was pulled by.
    if (imageId === digest) return undefined;
    const manifest = await this.registry.manifest(ref.registry, ref.path, digest, signal);
    if (!manifest) return `${ref.repository}@${digest} no longer exists at registry ${ref.registry}`;
    if (configMatches(manifest, imageId)) return undefined;
    if (INDEX_TYPES.has(manifest.mediaType)) {
      // A multi-platform image: the local Id is the config of one platform's manifest.
      const children = [...manifest.manifests].sort((a, b) => platformRank(a.platform) - platformRank(b.platform)).slice(0, MAX_INDEX_CHILDREN);
      if (children.some((child) => child.digest === imageId)) return undefined;
      for (const child of children) {
        const childManifest = await this.registry.manifest(ref.registry, ref.path, child.digest, signal);
        if (childManifest && configMatches(childManifest, imageId)) return undefined;
      }
    }
    return `the local image ${imageId} is not the image ${ref.repository}@${digest} describes (re-tagged or replaced)`;
  }

  /** Runs one verification under the deadline, through the cache and the in-flight table. */
  private async verify(key: string, image: string, run: (signal: AbortSignal) => Promise<TrustVerdict>): Promise<TrustVerdict> {
    const started = process.hrtime.bigint();
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > this.now()) {
      const verdict = cached.verdict.image === image ? cached.verdict : { ...cached.verdict, image };
      this.deps.observe?.(verdict, 'cache', Number(process.hrtime.bigint() - started) / 1e9);
      return verdict;
    }
    if (cached) this.cache.delete(key);
    if (this.deps.settings.cacheTtlMs === 0) this.cache.clear();
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.fetchVerdict(key, image, run);
      this.inFlight.set(key, pending);
      void pending.finally(() => this.inFlight.delete(key));
    }
    const verdict = await pending;
    this.deps.observe?.(verdict, 'registry', Number(process.hrtime.bigint() - started) / 1e9);
    return verdict.image === image ? verdict : { ...verdict, image };
  }

  /** A registry that gave no usable answer: untrusted, naming the registry (fail-closed). */
  private faultVerdict(err: unknown, image: string): TrustVerdict {
    const { timeoutMs } = this.deps.settings;
    if (err instanceof RegistryError) {
      const reason = err.problem === 'timeout' ? `registry ${err.registry} did not answer within ${timeoutMs} ms (IMAGE_TRUST_TIMEOUT_MS)` : err.message;
      return { trusted: false, image, registry: err.registry, reason, unavailable: err.problem !== 'invalid' };
    }
    return { trusted: false, image, reason: `verification failed: ${errorMessage(err)}`, unavailable: true };
  }

  private async fetchVerdict(key: string, image: string, run: (signal: AbortSignal) => Promise<TrustVerdict>): Promise<TrustVerdict> {
    const { timeoutMs } = this.deps.settings;
    let verdict: TrustVerdict;
    try {
      verdict = await run(AbortSignal.timeout(timeoutMs));
    } catch (err: unknown) {
      return this.faultVerdict(err, image);
    }
    // A definite "no" is kept briefly too (a scan must not ask the registry about every unsigned
    // container every time); a registry that gave no answer is asked again next time.
    if (!verdict.unavailable) {
      const ttl = verdict.trusted ? this.deps.settings.cacheTtlMs : Math.min(this.deps.settings.cacheTtlMs, NEGATIVE_TTL_MS);
      if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(key, { verdict, expiresAt: this.now() + ttl });
    }
    return verdict;
  }
}

function configMatches(manifest: Manifest, imageId: string): boolean {
  return manifest.config !== undefined && manifest.config.digest === imageId;
}

/** This host's platform first: its manifest is the one dockerd pulled. */
function platformRank(platform: { os?: string; architecture?: string } | undefined): number {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  if (platform?.os === 'linux' && platform.architecture === arch) return 0;
  return platform?.os === 'linux' ? 1 : 2;
}

/**
 * The image's RepoDigests (`127.0.0.1:5000/app@sha256:…`, Docker Hub's in short form) that are in a
 * trusted registry, the named repository first.
 */
export function trustedRepoDigests(repoDigests: readonly string[], trusted: (registry: string) => boolean, preferred?: ImageReference): Array<{ ref: ImageReference; digest: string }> {
  const out: Array<{ ref: ImageReference; digest: string }> = [];
  for (const entry of repoDigests) {
    const parsed = parseName(entry);
    if (!parsed.ok || !parsed.ref.digest || !trusted(parsed.ref.registry)) continue;
    out.push({ ref: parsed.ref, digest: parsed.ref.digest });
  }
  if (preferred) out.sort((a, b) => Number(b.ref.repository === preferred.repository) - Number(a.ref.repository === preferred.repository));
  return out;
}
