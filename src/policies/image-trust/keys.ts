/**
 * IMAGE_SIGNATURE_KEYS: the public keys whose signatures make an image trusted. ECDSA P-256 in PKIX
 * PEM, as `cosign generate-key-pair` writes `cosign.pub`; anything else is refused at start-up, since
 * a key we cannot use would silently deny every image.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { errorMessage } from '../../util/errors';

export interface SigningKey {
  readonly file: string;
  /** sha256 of the DER SubjectPublicKeyInfo, hex: what /rules shows and what a verdict names. */
  readonly fingerprint: string;
  readonly key: KeyObject;
}

export function keyFingerprint(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

export function loadSigningKeys(files: readonly string[]): { keys: SigningKey[]; errors: string[] } {
  const keys: SigningKey[] = [];
  const errors: string[] = [];
  for (const file of files) {
    let key: KeyObject;
    try {
      const pem = readFileSync(file, 'utf8');
      if (!pem.includes('-----BEGIN PUBLIC KEY-----')) throw new Error('not a PEM public key (expected -----BEGIN PUBLIC KEY-----, as cosign.pub)');
      key = createPublicKey(pem);
    } catch (err: unknown) {
      errors.push(`IMAGE_SIGNATURE_KEYS ${file}: ${errorMessage(err)}`);
      continue;
    }
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
      errors.push(`IMAGE_SIGNATURE_KEYS ${file}: a ${key.asymmetricKeyType ?? 'unknown'}${curve ? ` ${curve}` : ''} key; only ECDSA P-256 keys (cosign's) are supported`);
      continue;
    }
    keys.push({ file, fingerprint: keyFingerprint(key), key });
  }
  return { keys, errors };
}
