/**
 * cosign key-based signatures, read from the registry in both layouts cosign writes:
 *  - cosign ≤ 2: tag `sha256-<hex>.sig` in the image's repository, an OCI manifest with one layer
 *    per signature; the layer is a simple-signing payload naming the manifest digest, its annotation
 *    the base64 DER ECDSA signature over the payload bytes (cosign's SIGNATURE_SPEC).
 *  - cosign v3: a Sigstore bundle v0.3 (a DSSE envelope over an in-toto statement whose subject is
 *    the image digest) stored as an OCI 1.1 referrer of the image — found with the Referrers API, or
 *    on registries without it (distribution 2.8) through the referrers tag `sha256-<hex>`.
 * Both layouts are looked up at once, and both referrer sources too, so an image signed either way
 * costs at most three round trips in sequence (tag or referrers → manifest → blob); the first
 * verified signature ends the others.
 * A signature counts only if it verifies with one of our keys AND names exactly this digest.
 */
import { verify as verifySignature } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import type { SigningKey } from '../policies/image-trust/keys';
import { errorMessage } from '../util/errors';
import { RegistryError, type Descriptor, type RegistryClient } from './client';
import { COSIGN_SIGNATURE_ANNOTATION, COSIGN_SIMPLE_SIGNING, SIGSTORE_BUNDLE } from './media-types';

/** Bounds on what a registry can make us read per image: signatures are small and few. */
const MAX_SIGNATURES = 16;
const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_BUNDLE_BYTES = 256 * 1024;

export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';
const IN_TOTO = 'application/vnd.in-toto+json';

export type SignatureLayout = 'simple-signing' | 'sigstore-bundle';

export type SignatureCheck =
  | { readonly verified: true; readonly key: SigningKey; readonly layout: SignatureLayout }
  | { readonly verified: false; readonly reason: string };

export interface SignatureTarget {
  readonly registry: string;
  readonly path: string;
  readonly digest: string;
}

/** Looks for a signature by one of `keys` over `target.digest`; registry faults throw RegistryError. */
export async function findSignature(client: RegistryClient, target: SignatureTarget, keys: readonly SigningKey[], signal: AbortSignal): Promise<SignatureCheck> {
  const done = new AbortController();
  const both = AbortSignal.any([signal, done.signal]);
  const lookups = [simpleSigningSignatures(client, target, keys, both), bundleSignatures(client, target, keys, both)];
  try {
    // The first verified signature wins; otherwise every layout's reason (or the first fault) is reported.
    const verified = await Promise.any(lookups.map(async (lookup) => {
      const check = await lookup;
      if (!check.verified) throw check;
      return check;
    }));
    return verified;
  } catch {
    const outcomes = await Promise.allSettled(lookups);
    const fault = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (fault) throw fault.reason;
    return { verified: false, reason: outcomes.map((o) => (o.status === 'fulfilled' && !o.value.verified ? o.value.reason : '')).join('; ') };
  } finally {
    // The other layout's requests are no longer needed.
    done.abort();
  }
}

function tagOf(digest: string): string {
  return digest.replace(':', '-');
}

async function simpleSigningSignatures(client: RegistryClient, target: SignatureTarget, keys: readonly SigningKey[], signal: AbortSignal): Promise<SignatureCheck> {
  const { registry, path, digest } = target;
  const manifest = await client.manifest(registry, path, `${tagOf(digest)}.sig`, signal);
  if (!manifest) return { verified: false, reason: 'no cosign signature tag' };
  const layers = manifest.layers.filter((layer) => layer.mediaType === COSIGN_SIMPLE_SIGNING).slice(0, MAX_SIGNATURES);
  const problems: string[] = [];
  for (const layer of layers) {
    const signature = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
    if (!signature) continue;
    const payload = await client.blob(registry, path, layer.digest, MAX_PAYLOAD_BYTES, signal);
    const problem = simpleSigningProblem(payload, digest);
    if (problem) {
      problems.push(problem);
      continue;
    }
    const key = keys.find((candidate) => verifiesWith(candidate, payload, signature));
    if (key) return { verified: true, key, layout: 'simple-signing' };
    problems.push('a signature by a key that is not in IMAGE_SIGNATURE_KEYS');
  }
  return { verified: false, reason: problems.length > 0 ? `cosign signatures: ${[...new Set(problems)].join(', ')}` : 'a cosign signature tag without signatures' };
}

function verifiesWith(key: SigningKey, payload: Buffer, signatureBase64: string): boolean {
  try {
    return verifySignature('sha256', payload, key.key, Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}

/** Why a simple-signing payload does not vouch for `digest`, or undefined when it does. */
export function simpleSigningProblem(payload: Buffer, digest: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'a payload that is not JSON';
  }
  const critical = (json as { critical?: { type?: unknown; image?: { 'docker-manifest-digest'?: unknown } } } | null)?.critical;
  if (critical?.type !== SIMPLE_SIGNING_TYPE) return 'a payload that is not a cosign container image signature';
  // The payload, not the tag's name, says what was signed: a signature copied to another digest's tag signs nothing here.
  if (critical.image?.['docker-manifest-digest'] !== digest) return 'a signature over another digest';
  return undefined;
}

async function bundleSignatures(client: RegistryClient, target: SignatureTarget, keys: readonly SigningKey[], signal: AbortSignal): Promise<SignatureCheck> {
  const { registry, path, digest } = target;
  // The Referrers API and the referrers tag (registries without the API, distribution 2.8) at once.
  const [api, tagged] = await Promise.all([client.referrers(registry, path, digest, signal), client.manifest(registry, path, tagOf(digest), signal)]);
  const referrers = [...(api ?? []), ...(tagged?.manifests ?? [])].filter((d, i, all) => all.findIndex((o) => o.digest === d.digest) === i);
  const bundles = referrers.filter((d) => d.artifactType === SIGSTORE_BUNDLE).slice(0, MAX_SIGNATURES);
  if (bundles.length === 0) return { verified: false, reason: 'no Sigstore bundle referrer' };
  const problems: string[] = [];
  for (const descriptor of bundles) {
    const outcome = await checkBundle(client, target, descriptor, keys, signal);
    if (outcome.verified) return outcome;
    problems.push(outcome.reason);
  }
  return { verified: false, reason: `Sigstore bundles: ${[...new Set(problems)].join(', ')}` };
}

async function checkBundle(client: RegistryClient, target: SignatureTarget, descriptor: Descriptor, keys: readonly SigningKey[], signal: AbortSignal): Promise<SignatureCheck> {
  const { registry, path, digest } = target;
  const manifest = await client.manifest(registry, path, descriptor.digest, signal);
  if (!manifest) return { verified: false, reason: 'a referrer that is gone' };
  if (manifest.subject?.digest !== digest) return { verified: false, reason: 'a referrer of another digest' };
  const layer = manifest.layers.find((l) => l.mediaType === SIGSTORE_BUNDLE);
  if (!layer) return { verified: false, reason: 'a referrer without a bundle layer' };
  const bytes = await client.blob(registry, path, layer.digest, MAX_BUNDLE_BYTES, signal);
  return verifyBundle(bytes, digest, keys);
}

/** Verifies a Sigstore bundle offline with our keys (no transparency log: key-based, as cosign's `--key`). */
export function verifyBundle(bytes: Buffer, digest: string, keys: readonly SigningKey[]): SignatureCheck {
  let bundle;
  try {
    bundle = bundleFromJSON(JSON.parse(bytes.toString('utf8')));
  } catch (err: unknown) {
    return { verified: false, reason: `a bundle that cannot be read (${errorMessage(err)})` };
  }
  if (bundle.content.$case !== 'dsseEnvelope') return { verified: false, reason: 'a bundle that is not a DSSE envelope' };
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO) return { verified: false, reason: `a bundle whose payload is ${JSON.stringify(envelope.payloadType)}, not an in-toto statement` };
  if (!statementNames(envelope.payload, digest)) return { verified: false, reason: 'a bundle over another digest' };
  const entity = toSignedEntity(bundle);
  for (const key of keys) {
    // One key per verifier: the bundle's hint is the signer's choice of label, not something to trust.
    const trust = toTrustMaterial({ mediaType: '', tlogs: [], ctlogs: [], certificateAuthorities: [], timestampAuthorities: [] }, () => ({ publicKey: key.key, validFor: () => true }));
    try {
      new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(entity);
      return { verified: true, key, layout: 'sigstore-bundle' };
    } catch {
      continue;
    }
  }
  return { verified: false, reason: 'a bundle signed by a key that is not in IMAGE_SIGNATURE_KEYS' };
}

/** Whether an in-toto statement's subjects include this sha256 digest. */
function statementNames(payload: Buffer, digest: string): boolean {
  try {
    const statement = JSON.parse(payload.toString('utf8')) as { subject?: Array<{ digest?: Record<string, unknown> }> };
    const hex = digest.slice('sha256:'.length);
    return Array.isArray(statement.subject) && statement.subject.some((s) => s?.digest?.['sha256'] === hex);
  } catch {
    return false;
  }
}

export { RegistryError };
