import { expect } from 'chai';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadSigningKeys } from '../../../../src/policies/image-trust/keys';

function ecPublicPem(namedCurve: string): string {
  return generateKeyPairSync('ec', { namedCurve }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

describe('image trust: IMAGE_SIGNATURE_KEYS (loadSigningKeys)', () => {
  let dir = '';
  const file = async (name: string, text: string): Promise<string> => {
    const where = path.join(dir, name);
    await writeFile(where, text);
    return where;
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'de-keys-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("accepts a P-256 PEM public key (cosign.pub), fingerprinted as sha256 of its DER SubjectPublicKeyInfo", async () => {
    const pem = ecPublicPem('prime256v1');
    const where = await file('cosign.pub', pem);
    const { keys, errors } = loadSigningKeys([where]);
    expect(errors).to.deep.equal([]);
    expect(keys).to.have.length(1);
    const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
    expect(keys[0]!.file).to.equal(where);
    expect(keys[0]!.fingerprint).to.match(/^sha256:[a-f0-9]{64}$/).and.equal(`sha256:${createHash('sha256').update(der).digest('hex')}`);
    expect(keys[0]!.key.equals(createPublicKey(pem))).to.equal(true);
  });

  it('refuses an RSA key, naming the file and the key type', async () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const where = await file('rsa.pub', pem);
    const { keys, errors } = loadSigningKeys([where]);
    expect(keys).to.deep.equal([]);
    expect(errors).to.deep.equal([`IMAGE_SIGNATURE_KEYS ${where}: a rsa key; only ECDSA P-256 keys (cosign's) are supported`]);
  });

  it('refuses a P-384 key, naming the curve', async () => {
    const where = await file('p384.pub', ecPublicPem('secp384r1'));
    const { keys, errors } = loadSigningKeys([where]);
    expect(keys).to.deep.equal([]);
    expect(errors).to.deep.equal([`IMAGE_SIGNATURE_KEYS ${where}: a ec secp384r1 key; only ECDSA P-256 keys (cosign's) are supported`]);
  });

  it('refuses a private key: a public key is what is configured', async () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const where = await file('cosign.key', pem);
    const { keys, errors } = loadSigningKeys([where]);
    expect(keys).to.deep.equal([]);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.include(`IMAGE_SIGNATURE_KEYS ${where}: not a PEM public key`);
  });

  it('refuses a file that is not a key, and a PEM header around garbage', async () => {
    const text = await file('notes.txt', 'hello\n');
    const broken = await file('broken.pub', '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n');
    const { keys, errors } = loadSigningKeys([text, broken]);
    expect(keys).to.deep.equal([]);
    expect(errors).to.have.length(2);
    expect(errors[0]).to.include(`IMAGE_SIGNATURE_KEYS ${text}: not a PEM public key`);
    expect(errors[1]).to.match(new RegExp(`^IMAGE_SIGNATURE_KEYS ${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .+`));
  });

  it('refuses a missing file, naming it', () => {
    const where = path.join(dir, 'missing.pub');
    const { keys, errors } = loadSigningKeys([where]);
    expect(keys).to.deep.equal([]);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.include(`IMAGE_SIGNATURE_KEYS ${where}: `).and.include('ENOENT');
  });

  it('reports every problem at once and keeps the good keys, in order', async () => {
    const good1 = await file('a.pub', ecPublicPem('prime256v1'));
    const rsa = await file('rsa.pub', generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const good2 = await file('b.pub', ecPublicPem('prime256v1'));
    const missing = path.join(dir, 'missing.pub');
    const { keys, errors } = loadSigningKeys([good1, rsa, missing, good2]);
    expect(keys.map((k) => k.file)).to.deep.equal([good1, good2]);
    expect(keys[0]!.fingerprint).to.not.equal(keys[1]!.fingerprint);
    expect(errors).to.have.length(2);
    expect(errors[0]).to.include(rsa);
    expect(errors[1]).to.include(missing);
  });
});
