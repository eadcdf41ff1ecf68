import { expect } from 'chai';
import { createPublicKey } from 'node:crypto';
import { keyFingerprint, type SigningKey } from '../../../src/policies/image-trust/keys';
import { simpleSigningProblem, verifyBundle } from '../../../src/registry/cosign';
import { generateSigningKey, sha256Digest, signatureBundle, simpleSigningPayload, type SigningKey as SignerKey } from '../../integration/cosign-signer';

/** The enforcer's view of a signer's key: what IMAGE_SIGNATURE_KEYS would load from its cosign.pub. */
function trustKey(signer: SignerKey, file: string): SigningKey {
  const key = createPublicKey(signer.publicKeyPem);
  return { file, fingerprint: keyFingerprint(key), key };
}

const DIGEST = sha256Digest('the image manifest');
const OTHER_DIGEST = sha256Digest('another image manifest');
const REFERENCE = '127.0.0.1:5000/app';

describe('cosign: a simple-signing payload (simpleSigningProblem)', () => {
  const payload = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  const rows: Array<[what: string, body: Buffer, problem: string | undefined]> = [
    ["cosign's own payload for this digest", simpleSigningPayload(REFERENCE, DIGEST), undefined],
    ['a payload for another digest', simpleSigningPayload(REFERENCE, OTHER_DIGEST), 'a signature over another digest'],
    ['not JSON', payload('{"critical":'), 'a payload that is not JSON'],
    ['JSON null', payload('null'), 'a payload that is not a cosign container image signature'],
    ['a JSON string', payload('"cosign container image signature"'), 'a payload that is not a cosign container image signature'],
    ['no "critical"', payload({ optional: {} }), 'a payload that is not a cosign container image signature'],
    ['another type', payload({ critical: { type: 'atomic container signature', image: { 'docker-manifest-digest': DIGEST } } }), 'a payload that is not a cosign container image signature'],
    ['the right type and no digest', payload({ critical: { type: 'cosign container image signature', image: {} } }), 'a signature over another digest'],
    ['the digest in another case', payload({ critical: { type: 'cosign container image signature', image: { 'docker-manifest-digest': DIGEST.toUpperCase() } } }), 'a signature over another digest'],
  ];
  for (const [what, body, problem] of rows) {
    it(`${what}: ${problem ?? 'vouches for the digest'}`, () => {
      expect(simpleSigningProblem(body, DIGEST)).to.equal(problem);
    });
  }

});

describe('cosign: a Sigstore bundle (verifyBundle)', () => {
  const ours = generateSigningKey();
  const theirs = generateSigningKey();
  const bundle = (digest: string, signer: SignerKey): Buffer => Buffer.from(signatureBundle(REFERENCE, digest, signer));

  it('is accepted with the key that signed it', () => {
    const key = trustKey(ours, 'ours.pub');
    const check = verifyBundle(bundle(DIGEST, ours), DIGEST, [key]);
    expect(check).to.deep.equal({ verified: true, key, layout: 'sigstore-bundle' });
  });

  it('is refused with another key', () => {
    expect(verifyBundle(bundle(DIGEST, theirs), DIGEST, [trustKey(ours, 'ours.pub')])).to.deep.equal({ verified: false, reason: 'a bundle signed by a key that is not in IMAGE_SIGNATURE_KEYS' });
  });

  it('is refused when its statement names another digest, even with the right key', () => {
    expect(verifyBundle(bundle(OTHER_DIGEST, ours), DIGEST, [trustKey(ours, 'ours.pub')])).to.deep.equal({ verified: false, reason: 'a bundle over another digest' });
  });

  it('is refused with no keys at all', () => {
    expect(verifyBundle(bundle(DIGEST, ours), DIGEST, []).verified).to.equal(false);
  });

  it('is refused when it is not JSON, or JSON that is not a bundle', () => {
    for (const text of ['not json at all', '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}', '[]']) {
      const check = verifyBundle(Buffer.from(text), DIGEST, [trustKey(ours, 'ours.pub')]);
      expect(check.verified, text).to.equal(false);
      if (!check.verified) expect(check.reason, text).to.match(/^a bundle that cannot be read \(/);
    }
  });

  it('is refused when its signature was made over another statement', () => {
    // Our signature over a statement about another digest, with the statement swapped for one naming
    // this digest: the subject check passes, so only the signature check can refuse it.
    const signed = JSON.parse(signatureBundle(REFERENCE, OTHER_DIGEST, ours)) as { dsseEnvelope: { payload: string } };
    const swapped = JSON.parse(signatureBundle(REFERENCE, DIGEST, ours)) as { dsseEnvelope: { payload: string } };
    signed.dsseEnvelope.payload = swapped.dsseEnvelope.payload;
    const check = verifyBundle(Buffer.from(JSON.stringify(signed)), DIGEST, [trustKey(ours, 'ours.pub')]);
    expect(check).to.deep.equal({ verified: false, reason: 'a bundle signed by a key that is not in IMAGE_SIGNATURE_KEYS' });
  });

  it('with two keys configured, the second one verifies and is the one named', () => {
    const first = trustKey(theirs, 'theirs.pub');
    const second = trustKey(ours, 'ours.pub');
    const check = verifyBundle(bundle(DIGEST, ours), DIGEST, [first, second]);
    expect(check.verified).to.equal(true);
    if (check.verified) {
      expect(check.key.file).to.equal('ours.pub');
      expect(check.key.fingerprint).to.equal(second.fingerprint);
    }
  });
});
