/**
 * The image-trust harness itself: a loopback registry the throwaway dockerd pushes to, and a signer
 * whose output is read back with plain HTTP and checked with node:crypto, independently of the
 * signer's own readers.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { generateSigningKey, resolveManifest, signBundle, signLegacy, writePublicKey, type ManifestRef, type SigningKey } from './cosign-signer';
import { startRegistry, type TestRegistry } from './registry';
import { testEngine } from './setup';

const ALL_MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

interface Raw {
  readonly status: number;
  readonly body: Buffer;
  readonly digestHeader: string | null;
}

async function raw(url: string, accept?: string): Promise<Raw> {
  const res = await fetch(url, { headers: accept ? { Accept: accept } : {}, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), digestHeader: res.headers.get('docker-content-digest') };
}

async function rawJson<T>(url: string, accept?: string): Promise<T> {
  const res = await raw(url, accept);
  expect(res.status, `GET ${url}`).to.equal(200);
  return JSON.parse(res.body.toString('utf8')) as T;
}

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

interface LayerJson {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface ManifestJson {
  mediaType: string;
  artifactType?: string;
  config: { mediaType: string; digest: string; size: number };
  layers: LayerJson[];
  subject?: { mediaType: string; digest: string; size: number };
  annotations?: Record<string, string>;
}
interface IndexJson {
  mediaType: string;
  manifests: Array<LayerJson & { artifactType?: string }>;
}

/** docker push through the test engine; dockerd reports a failed push inside a 200 stream. */
async function push(name: string, tag: string): Promise<void> {
  const docker = testEngine().docker;
  const stream = await docker.getImage(name).push({ tag });
  const events = await new Promise<Array<{ error?: string }>>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => (err ? reject(err) : resolve(output))),
  );
  const failed = events.find((event) => event.error);
  if (failed) throw new Error(`docker push ${name}:${tag}: ${failed.error}`);
}

describe('the image-trust harness: loopback registries and a cosign-compatible signer', function () {
  this.timeout(30_000);
  let first: TestRegistry | undefined;
  let second: TestRegistry | undefined;
  let keyDir = '';
  const localNames: string[] = [];
  let image: ManifestRef | undefined;
  let imageId = '';

  const reg1 = (): TestRegistry => first as TestRegistry;
  const reg2 = (): TestRegistry => second as TestRegistry;
  const pushed = (): ManifestRef => {
    if (!image) throw new Error('the image was not pushed (an earlier test failed)');
    return image;
  };

  before(async () => {
    const engine = testEngine();
    imageId = (await engine.docker.getImage(engine.image).inspect()).Id;
    keyDir = await mkdtemp(path.join(os.tmpdir(), 'de-keys-'));
    [first, second] = await Promise.all([startRegistry('127.0.0.1'), startRegistry('127.0.0.2')]);
  });

  after(async () => {
    const docker = testEngine().docker;
    // Untags only: the test image keeps its own name, so the layers stay for the other tests.
    for (const name of localNames) await docker.getImage(name).remove().catch(() => undefined);
    await Promise.all([first?.stop(), second?.stop()]);
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  });

  it('dockerd pushes the test image to 127.0.0.1 and resolveManifest gives the digest dockerd recorded', async () => {
    const engine = testEngine();
    const repo = `${reg1().host}/app`;
    await engine.docker.getImage(engine.image).tag({ repo, tag: '1.0' });
    localNames.push(`${repo}:1.0`);
    await push(repo, '1.0');

    const repoDigests = (await engine.docker.getImage(`${repo}:1.0`).inspect()).RepoDigests;
    const recorded = repoDigests.find((d) => d.startsWith(`${repo}@`));
    expect(recorded, `RepoDigests ${repoDigests.join(', ')}`).to.be.a('string');

    image = await resolveManifest(reg1().url, 'app', '1.0');
    expect(`${repo}@${image.digest}`).to.equal(recorded);
    expect(image.mediaType).to.equal('application/vnd.docker.distribution.manifest.v2+json');
    // The content check a verifier relies on: the signed manifest names the local image's config.
    expect(image.configDigest).to.equal(imageId);
    expect(await resolveManifest(reg1().url, 'app', image.digest)).to.deep.equal(image);

    // The Accept trap: without Accept headers registry 2.8 serves a schema1 conversion under another digest.
    const bare = await raw(`${reg1().url}/v2/app/manifests/1.0`);
    expect(bare.digestHeader).to.not.equal(image.digest);
    const full = await raw(`${reg1().url}/v2/app/manifests/1.0`, ALL_MANIFEST_TYPES);
    expect(full.digestHeader).to.equal(image.digest);
    expect(sha256(full.body)).to.equal(image.digest);
  });

  it('legacy layout: the .sig tag holds one simplesigning layer per signature, each verifiable with its cosign.pub', async () => {
    const { digest } = pushed();
    const keys: SigningKey[] = [generateSigningKey(), generateSigningKey()];
    const pubFiles = await Promise.all(keys.map((key, i) => writePublicKey(keyDir, `cosign-${i}.pub`, key)));
    await signLegacy(reg1().url, reg1().host, 'app', digest, keys[0] as SigningKey);

    const tag = `sha256-${digest.slice('sha256:'.length)}.sig`;
    const once = await rawJson<ManifestJson>(`${reg1().url}/v2/app/manifests/${tag}`, ALL_MANIFEST_TYPES);
    expect(once.mediaType).to.equal('application/vnd.oci.image.manifest.v1+json');
    expect(once.config.mediaType).to.equal('application/vnd.oci.image.config.v1+json');
    expect(once.layers).to.have.length(1);

    // cosign appends a second signature to the same tag.
    await signLegacy(reg1().url, reg1().host, 'app', digest, keys[1] as SigningKey);
    const twice = await rawJson<ManifestJson>(`${reg1().url}/v2/app/manifests/${tag}`, ALL_MANIFEST_TYPES);
    expect(twice.layers).to.have.length(2);
    expect(twice.layers[0]).to.deep.equal(once.layers[0]);

    for (const [i, layer] of twice.layers.entries()) {
      expect(layer.mediaType).to.equal('application/vnd.dev.cosign.simplesigning.v1+json');
      const blob = (await raw(`${reg1().url}/v2/app/blobs/${layer.digest}`)).body;
      expect(sha256(blob)).to.equal(layer.digest);
      expect(JSON.parse(blob.toString('utf8'))).to.deep.equal({
        critical: { identity: { 'docker-reference': `${reg1().host}/app` }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
        optional: null,
      });
      const signature = Buffer.from(layer.annotations?.['dev.cosignproject.cosign/signature'] ?? '', 'base64');
      const own = createPublicKey(await readFile(pubFiles[i] as string, 'utf8'));
      const other = createPublicKey(await readFile(pubFiles[1 - i] as string, 'utf8'));
      expect(verify('sha256', blob, own, signature), `signature ${i} with its own key`).to.equal(true);
      expect(verify('sha256', blob, other, signature), `signature ${i} with the other key`).to.equal(false);
    }
  });

  it('bundle layout: a referrer with subject and artifactType, listed in the sha256-<hex> index, with a DSSE signature over the statement', async () => {
    const subject = pushed();
    const key = generateSigningKey();
    const hex = subject.digest.slice('sha256:'.length);
    await signBundle(reg1().url, reg1().host, 'app', subject, key);

    // Registry 2.8 has no Referrers API: the tag schema is the only way to find the bundle.
    expect((await raw(`${reg1().url}/v2/app/referrers/${subject.digest}`)).status).to.equal(404);
    const index = await rawJson<IndexJson>(`${reg1().url}/v2/app/manifests/sha256-${hex}`, ALL_MANIFEST_TYPES);
    expect(index.mediaType).to.equal('application/vnd.oci.image.index.v1+json');
    expect(index.manifests).to.have.length(1);
    const entry = index.manifests[0] as IndexJson['manifests'][number];
    expect(entry.artifactType).to.equal('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(entry.mediaType).to.equal('application/vnd.oci.image.manifest.v1+json');

    const referrerRaw = await raw(`${reg1().url}/v2/app/manifests/${entry.digest}`, ALL_MANIFEST_TYPES);
    expect(sha256(referrerRaw.body)).to.equal(entry.digest);
    expect(referrerRaw.body.length).to.equal(entry.size);
    const referrer = JSON.parse(referrerRaw.body.toString('utf8')) as ManifestJson;
    // Stored byte for byte, so the OCI 1.1 fields registry 2.8 does not know survive.
    expect(referrer.artifactType).to.equal('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(referrer.subject).to.deep.equal({ mediaType: subject.mediaType, digest: subject.digest, size: subject.size });
    expect(referrer.config).to.deep.equal({ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(Buffer.from('{}')), size: 2 });
    expect(referrer.annotations?.['dev.sigstore.bundle.predicateType']).to.equal('https://sigstore.dev/cosign/sign/v1');
    expect(referrer.layers).to.have.length(1);
    const layer = referrer.layers[0] as LayerJson;
    expect(layer.mediaType).to.equal('application/vnd.dev.sigstore.bundle.v0.3+json');

    const bundle = JSON.parse((await raw(`${reg1().url}/v2/app/blobs/${layer.digest}`)).body.toString('utf8')) as {
      mediaType: string;
      verificationMaterial: { publicKey: { hint: string }; tlogEntries: unknown[] };
      dsseEnvelope: { payload: string; payloadType: string; signatures: Array<{ sig: string }> };
    };
    expect(bundle.mediaType).to.equal('application/vnd.dev.sigstore.bundle.v0.3+json');
    const publicKey = createPublicKey(key.publicKeyPem);
    expect(bundle.verificationMaterial.publicKey.hint).to.equal(createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64'));
    const { payload, payloadType, signatures } = bundle.dsseEnvelope;
    expect(payloadType).to.equal('application/vnd.in-toto+json');
    expect(signatures).to.have.length(1);
    const body = Buffer.from(payload, 'base64');
    const pae = Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${body.length} `), body]);
    expect(verify('sha256', pae, publicKey, Buffer.from(signatures[0]?.sig ?? '', 'base64'))).to.equal(true);
    expect(verify('sha256', body, publicKey, Buffer.from(signatures[0]?.sig ?? '', 'base64')), 'the signature covers the PAE, not the bare payload').to.equal(false);
    const statement = JSON.parse(body.toString('utf8')) as { _type: string; subject: unknown; predicateType: string };
    expect(statement._type).to.equal('https://in-toto.io/Statement/v1');
    expect(statement.predicateType).to.equal('https://sigstore.dev/cosign/sign/v1');
    expect(statement.subject).to.deep.equal([{ name: `${reg1().host}/app`, digest: { sha256: hex } }]);

    // A second signer is merged into the index, not written over the first.
    await signBundle(reg1().url, reg1().host, 'app', subject, generateSigningKey());
    const merged = await rawJson<IndexJson>(`${reg1().url}/v2/app/manifests/sha256-${hex}`, ALL_MANIFEST_TYPES);
    expect(merged.manifests.map((m) => m.digest)).to.have.length(2).and.to.include(entry.digest);
  });

  it('a registry on 127.0.0.2 takes a nested repository and keeps its storage across kill() and start()', async () => {
    const engine = testEngine();
    const repo = `${reg2().host}/team/app`;
    expect(reg2().host.startsWith('127.0.0.2:')).to.equal(true);
    await engine.docker.getImage(engine.image).tag({ repo, tag: '1.0' });
    localNames.push(`${repo}:1.0`);
    await push(repo, '1.0');
    const before = await resolveManifest(reg2().url, 'team/app', '1.0');
    expect(before.digest).to.equal(pushed().digest);
    await signLegacy(reg2().url, reg2().host, 'team/app', before.digest, generateSigningKey());

    await reg2().kill();
    const down = await fetch(`${reg2().url}/v2/`, { signal: AbortSignal.timeout(2_000) }).then(() => 'answered', (err: Error) => err.message);
    expect(down).to.not.equal('answered');
    // The other registry is a separate process and stays up.
    expect((await raw(`${reg1().url}/v2/`)).status).to.equal(200);

    await reg2().start();
    expect(await resolveManifest(reg2().url, 'team/app', '1.0')).to.deep.equal(before);
    const sig = await rawJson<ManifestJson>(`${reg2().url}/v2/team/app/manifests/sha256-${before.digest.slice(7)}.sig`, ALL_MANIFEST_TYPES);
    expect(sig.layers).to.have.length(1);
  });
});
