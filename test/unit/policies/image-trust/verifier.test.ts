import { expect } from 'chai';
import { createPublicKey, sign } from 'node:crypto';
import { DockerError, type ImageIdentity } from '../../../../src/docker/client';
import { keyFingerprint, type SigningKey } from '../../../../src/policies/image-trust/keys';
import type { ImageTrustSettings } from '../../../../src/policies/image-trust/settings';
import { ImageTrustVerifier, type TrustVerdict } from '../../../../src/policies/image-trust/verifier';
import { RegistryClient } from '../../../../src/registry/client';
import {
  generateSigningKey,
  legacySignatureTag,
  MEDIA_TYPES,
  referrersTag,
  sha256Digest,
  SIGNATURE_ANNOTATION,
  signatureBundle,
  simpleSigningPayload,
  type SigningKey as SignerKey,
} from '../../../integration/cosign-signer';

const HOST = '127.0.0.1:5000';

/**
 * A registry held in memory behind the client's `fetch` option: the real RegistryClient (digest
 * checks, media types, signature layouts) runs against it, and every request is recorded.
 */
class MemoryRegistry {
  readonly requests: string[] = [];
  private readonly manifests = new Map<string, { body: Buffer; mediaType: string }>();
  private readonly blobs = new Map<string, Buffer>();
  /** While set, requests never get an answer (only the caller's deadline ends them). */
  hang = false;

  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    this.requests.push(url.pathname);
    const signal = init?.signal ?? undefined;
    if (this.hang) {
      return new Promise<Response>((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      });
    }
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (url.host !== HOST || !match) return new Response(null, { status: 404 });
    const [, path, kind, reference] = match as unknown as [string, string, string, string];
    if (kind === 'blobs') {
      const blob = this.blobs.get(reference);
      return blob ? new Response(blob) : new Response(null, { status: 404 });
    }
    const manifest = this.manifests.get(`${path}:${reference}`);
    if (!manifest) return new Response(null, { status: 404 });
    return new Response(manifest.body, { headers: { 'Content-Type': manifest.mediaType, 'Docker-Content-Digest': sha256Digest(manifest.body) } });
  };

  putBlob(bytes: Buffer): { digest: string; size: number } {
    const digest = sha256Digest(bytes);
    this.blobs.set(digest, bytes);
    return { digest, size: bytes.length };
  }

  /** Stores a manifest under its digest and, if given, a tag; returns its digest. */
  putManifest(path: string, json: Record<string, unknown>, tag?: string): string {
    const body = Buffer.from(JSON.stringify(json));
    const digest = sha256Digest(body);
    const entry = { body, mediaType: String(json['mediaType']) };
    this.manifests.set(`${path}:${digest}`, entry);
    if (tag !== undefined) this.manifests.set(`${path}:${tag}`, entry);
    return digest;
  }

  /** An image manifest whose config (the local image Id) is `configDigest`. */
  putImage(path: string, configDigest: string, tag?: string): string {
    return this.putManifest(path, { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: MEDIA_TYPES.ociConfig, digest: configDigest, size: 100 }, layers: [] }, tag);
  }

  /** cosign ≤ 2: a simple-signing layer under the `sha256-<hex>.sig` tag. */
  signLegacy(path: string, digest: string, signer: SignerKey): void {
    const payload = simpleSigningPayload(`${HOST}/${path}`, digest);
    const blob = this.putBlob(payload);
    const signature = sign('sha256', payload, signer.privateKey).toString('base64');
    const config = this.putBlob(Buffer.from('{}'));
    this.putManifest(
      path,
      {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: { mediaType: MEDIA_TYPES.ociConfig, digest: config.digest, size: config.size },
        layers: [{ mediaType: MEDIA_TYPES.simpleSigning, digest: blob.digest, size: blob.size, annotations: { [SIGNATURE_ANNOTATION]: signature } }],
      },
      legacySignatureTag(digest),
    );
  }

  /** cosign 3: a bundle referrer, listed under the referrers tag (no Referrers API here, as in registry 2.8). */
  signBundle(path: string, subject: string, signer: SignerKey): void {
    const bundle = this.putBlob(Buffer.from(signatureBundle(`${HOST}/${path}`, subject, signer)));
    const empty = this.putBlob(Buffer.from('{}'));
    const referrer = this.putManifest(path, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      artifactType: MEDIA_TYPES.sigstoreBundle,
      config: { mediaType: MEDIA_TYPES.ociEmpty, digest: empty.digest, size: empty.size },
      layers: [{ mediaType: MEDIA_TYPES.sigstoreBundle, digest: bundle.digest, size: bundle.size }],
      subject: { mediaType: MEDIA_TYPES.ociManifest, digest: subject, size: 100 },
    });
    this.putManifest(path, { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: referrer, size: 100, artifactType: MEDIA_TYPES.sigstoreBundle }] }, referrersTag(subject));
  }

  count(suffix: string): number {
    return this.requests.filter((p) => p.endsWith(suffix)).length;
  }
}

function trustKey(signer: SignerKey, file: string): SigningKey {
  const key = createPublicKey(signer.publicKeyPem);
  return { file, fingerprint: keyFingerprint(key), key };
}

const ID_APP = sha256Digest('config of app');
const ID_OTHER = sha256Digest('config of another image');

interface Fixture {
  readonly verifier: ImageTrustVerifier;
  readonly registry: MemoryRegistry;
  /** What docker knows, by name or id; filled in by each case. */
  readonly images: Record<string, ImageIdentity>;
  /** What docker was asked. */
  readonly inspected: string[];
  /** The verifier's clock, in ms. */
  readonly clock: { now: number };
}

function fixture(settings: Partial<ImageTrustSettings>, identitiesCacheable?: () => boolean): Fixture {
  const registry = new MemoryRegistry();
  const images: Record<string, ImageIdentity> = {};
  const inspected: string[] = [];
  const clock = { now: 1_000_000 };
  const docker = {
    imageInspect: async (ref: string): Promise<ImageIdentity> => {
      inspected.push(ref);
      const image = images[ref];
      if (!image) throw new DockerError('image_inspect', `no such image: ${ref}`, 404);
      return image;
    },
    inspect: async (): Promise<never> => {
      throw new Error('not used');
    },
  };
  const verifier = new ImageTrustVerifier({
    settings: { registries: [HOST], keys: [], allowLocalBuilds: false, timeoutMs: 1000, cacheTtlMs: 60_000, ...settings },
    docker,
    registry: new RegistryClient({ fetch: registry.fetch }),
    now: () => clock.now,
    ...(identitiesCacheable ? { identitiesCacheable } : {}),
  });
  return { verifier, registry, images, inspected, clock };
}

/** `HOST/app:1` on this host, pulled from the registry: its manifest there has `configDigest` as config. */
function pulledApp(f: Fixture, configDigest = ID_APP): string {
  const digest = f.registry.putImage('app', configDigest);
  f.images[`${HOST}/app:1`] = { id: ID_APP, repoDigests: [`${HOST}/app@${digest}`] };
  return digest;
}

describe('image trust: the verifier (ImageTrustVerifier)', () => {
  const ours = generateSigningKey();
  const theirs = generateSigningKey();
  const OURS = trustKey(ours, 'ours.pub');

  describe('the registry allow-list', () => {
    it('judges an image from an untrusted registry without any I/O', async () => {
      const f = fixture({ keys: [OURS] });
      f.images['evil.example.com/app:1'] = { id: ID_APP, repoDigests: [] };
      const verdicts: TrustVerdict[] = [f.verifier.target('evil.example.com/app:1'), await f.verifier.remote('evil.example.com/app:1')];
      const local = await f.verifier.local('evil.example.com/app:1');
      expect(local).to.not.equal('absent');
      verdicts.push(local as TrustVerdict);
      for (const verdict of verdicts) {
        expect(verdict).to.include({ trusted: false, registry: 'evil.example.com', repository: 'evil.example.com/app' });
        expect(verdict.reason).to.equal(`evil.example.com/app:1 is from registry evil.example.com, which is not trusted (TRUSTED_REGISTRIES: ${HOST})`);
      }
      expect(f.registry.requests).to.deep.equal([]);
      expect(f.inspected).to.deep.equal([]);
    });

    it('judges Docker Hub spellings as docker.io', () => {
      const f = fixture({ registries: ['docker.io'] });
      for (const image of ['busybox', 'library/busybox:1', 'docker.io/library/busybox', 'index.docker.io/library/busybox']) {
        expect(f.verifier.target(image), image).to.include({ trusted: true, registry: 'docker.io', repository: 'docker.io/library/busybox' });
      }
    });

    it('refuses a name that is not an image reference', async () => {
      const f = fixture({});
      expect((await f.verifier.remote(`${HOST}/App`)).reason).to.include('is not an image reference');
      expect(f.registry.requests).to.deep.equal([]);
      expect(f.verifier.target('a b').trusted).to.equal(false);
    });

    describe('isTrustedRegistry compares hosts case-insensitively and exactly', () => {
      const f = fixture({ registries: ['registry.example.com', HOST, 'docker.io'] });
      const rows: Array<[registry: string, trusted: boolean]> = [
        ['registry.example.com', true],
        ['Registry.Example.COM', true],
        ['registry.example.com:443', false],
        ['example.com', false],
        ['evil-registry.example.com', false],
        [HOST, true],
        ['127.0.0.1:5001', false],
        ['127.0.0.1', false],
        ['index.docker.io', true],
        ['', false],
        ['https://registry.example.com', false],
      ];
      for (const [registry, trusted] of rows) {
        it(`${JSON.stringify(registry)}: ${trusted ? 'trusted' : 'not trusted'}`, () => {
          expect(f.verifier.isTrustedRegistry(registry)).to.equal(trusted);
        });
      }
    });
  });

  describe('a local image about to run', () => {
    it("is untrusted when it came from no registry (built or re-tagged here), asking no registry", async () => {
      const f = fixture({});
      f.images[`${HOST}/app:1`] = { id: ID_APP, repoDigests: [] };
      const verdict = await f.verifier.local(`${HOST}/app:1`);
      expect(verdict).to.include({ trusted: false });
      expect((verdict as TrustVerdict).reason).to.equal(`${HOST}/app:1 (${ID_APP}): it came from no registry (built, loaded, imported, committed or re-tagged here)`);
      expect(f.registry.requests).to.deep.equal([]);
    });

    it('is untrusted when its only registry digests are from untrusted registries', async () => {
      const f = fixture({});
      f.images[`${HOST}/app:1`] = { id: ID_APP, repoDigests: [`evil.example.com/app@${sha256Digest('m')}`] };
      const verdict = (await f.verifier.local(`${HOST}/app:1`)) as TrustVerdict;
      expect(verdict.trusted).to.equal(false);
      expect(verdict.reason).to.include('none of its registry digests is from a trusted registry');
      expect(f.registry.requests).to.deep.equal([]);
    });

    it("is 'absent' when dockerd does not have it (dockerd answers that itself)", async () => {
      const f = fixture({});
      expect(await f.verifier.local(`${HOST}/app:1`)).to.equal('absent');
    });

    it('is trusted when the manifest at its registry digest describes this very image', async () => {
      const f = fixture({});
      const digest = pulledApp(f);
      expect(await f.verifier.local(`${HOST}/app:1`)).to.deep.equal({ trusted: true, image: `${HOST}/app:1`, registry: HOST, repository: `${HOST}/app`, digest });
    });

    it('is untrusted when the manifest at its registry digest describes another image (re-tagged or replaced)', async () => {
      const f = fixture({});
      const digest = pulledApp(f, ID_OTHER);
      const verdict = (await f.verifier.local(`${HOST}/app:1`)) as TrustVerdict;
      expect(verdict.trusted).to.equal(false);
      expect(verdict.reason).to.equal(`the local image ${ID_APP} is not the image ${HOST}/app@${digest} describes (re-tagged or replaced)`);
    });

    it('with keys: trusted only when the digest is signed by one of them (simple-signing layout)', async () => {
      const setup = (signer?: SignerKey): Fixture => {
        const f = fixture({ keys: [OURS] });
        const digest = pulledApp(f);
        if (signer) f.registry.signLegacy('app', digest, signer);
        return f;
      };
      const signed = (await setup(ours).verifier.local(`${HOST}/app:1`)) as TrustVerdict;
      expect(signed).to.include({ trusted: true, key: OURS.fingerprint, keyFile: 'ours.pub', layout: 'simple-signing' });

      const foreign = (await setup(theirs).verifier.local(`${HOST}/app:1`)) as TrustVerdict;
      expect(foreign.trusted).to.equal(false);
      expect(foreign.reason).to.include('not signed by a trusted key').and.include('a signature by a key that is not in IMAGE_SIGNATURE_KEYS');

      const unsigned = (await setup().verifier.local(`${HOST}/app:1`)) as TrustVerdict;
      expect(unsigned.trusted).to.equal(false);
      expect(unsigned.reason).to.include('no cosign signature tag').and.include('no Sigstore bundle referrer');
    });

    it('with keys: a Sigstore bundle found through the referrers tag is a signature too', async () => {
      const f = fixture({ keys: [OURS] });
      const digest = pulledApp(f);
      f.registry.signBundle('app', digest, ours);
      expect(await f.verifier.local(`${HOST}/app:1`)).to.include({ trusted: true, key: OURS.fingerprint, layout: 'sigstore-bundle', digest });
    });
  });

  describe('the cache', () => {
    it('remembers what a name resolves to only while image events are watched, and forgets it on one', async () => {
      let watched = false;
      const f = fixture({}, () => watched);
      pulledApp(f);
      await f.verifier.local(`${HOST}/app:1`);
      await f.verifier.local(`${HOST}/app:1`);
      expect(f.inspected).to.deep.equal([`${HOST}/app:1`, `${HOST}/app:1`]);

      watched = true;
      await f.verifier.local(`${HOST}/app:1`);
      await f.verifier.local(`${HOST}/app:1`);
      expect(f.inspected).to.have.length(3);

      // `docker tag` re-points the name: the image event makes the next ask go to dockerd again.
      f.images[`${HOST}/app:1`] = { id: sha256Digest('a re-tagged image'), repoDigests: [] };
      f.verifier.forgetImageNames();
      const verdict = await f.verifier.local(`${HOST}/app:1`);
      expect(f.inspected).to.have.length(4);
      expect(verdict).to.include({ trusted: false });
    });

    it('answers a second ask within the TTL from the cache, and asks the registry again after it', async () => {
      const f = fixture({ cacheTtlMs: 10_000 });
      const digest = pulledApp(f);
      expect(await f.verifier.local(`${HOST}/app:1`)).to.include({ trusted: true });
      const asked = f.registry.count(`/manifests/${digest}`);
      expect(asked).to.equal(1);

      f.clock.now += 9_999;
      expect(await f.verifier.local(`${HOST}/app:1`)).to.include({ trusted: true });
      expect(f.registry.count(`/manifests/${digest}`)).to.equal(1);

      f.clock.now += 2;
      expect(await f.verifier.local(`${HOST}/app:1`)).to.include({ trusted: true });
      expect(f.registry.count(`/manifests/${digest}`)).to.equal(2);
    });

    it('keeps an untrusted verdict at most a minute: a signature added meanwhile counts after that', async () => {
      const f = fixture({ keys: [OURS], cacheTtlMs: 3_600_000 });
      const digest = pulledApp(f);
      expect(await f.verifier.local(`${HOST}/app:1`)).to.include({ trusted: false });
      f.registry.signLegacy('app', digest, ours);
      f.clock.now += 59_000;
      expect(await f.verifier.local(`${HOST}/app:1`)).to.include({ trusted: false });
      f.clock.now += 1_001;
      expect(await f.verifier.local(`${HOST}/app:1`)).to.include({ trusted: true });
    });

    it('resolves a tag at every remote ask: a moved tag is never answered from the cache', async () => {
      const f = fixture({ keys: [OURS] });
      const signed = f.registry.putImage('app', ID_APP, '1');
      f.registry.signLegacy('app', signed, ours);

      for (let i = 1; i <= 2; i += 1) {
        expect(await f.verifier.remote(`${HOST}/app:1`)).to.include({ trusted: true, digest: signed });
        expect(f.registry.count('/manifests/1')).to.equal(i);
      }
      // What the digest is signed by was looked up once, then cached.
      expect(f.registry.count(`/manifests/${legacySignatureTag(signed)}`)).to.equal(1);

      const moved = f.registry.putImage('app', ID_OTHER, '1');
      const verdict = await f.verifier.remote(`${HOST}/app:1`);
      expect(f.registry.count('/manifests/1')).to.equal(3);
      expect(verdict).to.include({ trusted: false, digest: moved });
      expect(verdict.reason).to.include('not signed by a trusted key');
    });

    it('says so when the tag does not exist', async () => {
      const f = fixture({ keys: [OURS] });
      const verdict = await f.verifier.remote(`${HOST}/app:nope`);
      expect(verdict).to.include({ trusted: false, reason: `${HOST}/app:nope does not exist at registry ${HOST}` });
    });
  });

  describe('a registry that does not answer', () => {
    it('is an unavailable verdict naming the registry and the deadline, and is not cached', async () => {
      const f = fixture({ timeoutMs: 50 });
      pulledApp(f);
      f.registry.hang = true;
      const verdict = await f.verifier.local(`${HOST}/app:1`);
      expect(verdict).to.deep.equal({ trusted: false, image: `${HOST}/app:1`, registry: HOST, reason: `registry ${HOST} did not answer within 50 ms (IMAGE_TRUST_TIMEOUT_MS)`, unavailable: true });

      // The next ask goes to the registry again and gets the real answer.
      f.registry.hang = false;
      const before = f.registry.requests.length;
      expect(await f.verifier.local(`${HOST}/app:1`)).to.include({ trusted: true });
      expect(f.registry.requests.length).to.be.greaterThan(before);
    });

    it('while resolving a tag is an unavailable verdict too', async () => {
      const f = fixture({ keys: [OURS], timeoutMs: 50 });
      f.registry.hang = true;
      const verdict = await f.verifier.remote(`${HOST}/app:1`);
      expect(verdict).to.deep.equal({ trusted: false, image: `${HOST}/app:1`, registry: HOST, reason: `registry ${HOST} did not answer within 50 ms (IMAGE_TRUST_TIMEOUT_MS)`, unavailable: true });
    });
  });
});
