import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { authKeyHost, loadRegistryCredentials } from '../../../src/registry/credentials';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('registry credentials: the keys of "auths" (authKeyHost)', () => {
  const rows: Array<[key: string, host: string]> = [
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['docker.io', 'docker.io'],
    ['registry.example.com', 'registry.example.com'],
    ['Registry.Example.COM', 'registry.example.com'],
    ['https://registry.example.com/v2/', 'registry.example.com'],
    ['http://127.0.0.1:5000/v2/', '127.0.0.1:5000'],
    ['127.0.0.1:5000', '127.0.0.1:5000'],
    ['[::1]:5000', '[::1]:5000'],
  ];
  for (const [key, host] of rows) {
    it(`${key} -> ${host}`, () => {
      expect(authKeyHost(key)).to.equal(host);
    });
  }
});

describe('registry credentials: IMAGE_TRUST_AUTH_FILE (loadRegistryCredentials)', () => {
  let dir = '';
  const config = async (content: unknown): Promise<string> => {
    const file = path.join(dir, 'config.json');
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'de-auth-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads "auth" (base64 user:password) as it is', async () => {
    const file = await config({ auths: { '127.0.0.1:5000': { auth: b64('alice:s3cret') } } });
    const { credentials, errors } = loadRegistryCredentials(file);
    expect(errors).to.deep.equal([]);
    expect(credentials!.basic('127.0.0.1:5000')).to.equal(b64('alice:s3cret'));
    expect(credentials!.basic('127.0.0.2:5000')).to.equal(undefined);
    expect(credentials!.basic('127.0.0.1')).to.equal(undefined);
    expect(credentials!.registries).to.deep.equal(['127.0.0.1:5000']);
  });

  it('finds the credentials of a registry whatever the case an image name writes its host in', async () => {
    // `Registry.Example.com/app` is the trusted registry.example.com (host names ignore case): its
    // credentials must apply too, or the registry refuses the enforcer and the image is denied.
    const file = await config({ auths: { 'https://Registry.Example.com/v2/': { auth: b64('alice:pw') } } });
    const { credentials } = loadRegistryCredentials(file);
    expect(credentials!.registries).to.deep.equal(['registry.example.com']);
    for (const host of ['registry.example.com', 'Registry.Example.com', 'REGISTRY.EXAMPLE.COM']) expect(credentials!.basic(host), host).to.equal(b64('alice:pw'));
  });

  it('reads "username" and "password" as Basic credentials', async () => {
    const file = await config({ auths: { 'registry.example.com': { username: 'bob', password: 'p:w' } } });
    const { credentials, errors } = loadRegistryCredentials(file);
    expect(errors).to.deep.equal([]);
    expect(credentials!.basic('registry.example.com')).to.equal(b64('bob:p:w'));
  });

  it("files Docker Hub's legacy key https://index.docker.io/v1/ under docker.io", async () => {
    const file = await config({ auths: { 'https://index.docker.io/v1/': { auth: b64('hub:token') } } });
    const { credentials } = loadRegistryCredentials(file);
    expect(credentials!.basic('docker.io')).to.equal(b64('hub:token'));
    expect(credentials!.registries).to.deep.equal(['docker.io']);
  });

  it('accepts a file without "auths": no credentials for any registry', async () => {
    const { credentials, errors } = loadRegistryCredentials(await config({}));
    expect(errors).to.deep.equal([]);
    expect(credentials!.registries).to.deep.equal([]);
  });

  for (const helper of ['credsStore', 'credHelpers'] as const) {
    it(`refuses "${helper}": it would run a program named in the file`, async () => {
      const file = await config({ auths: { 'registry.example.com': { auth: b64('a:b') } }, [helper]: helper === 'credsStore' ? 'desktop' : { 'registry.example.com': 'ecr-login' } });
      const { credentials, errors } = loadRegistryCredentials(file);
      expect(credentials).to.equal(undefined);
      expect(errors).to.have.length(1);
      expect(errors[0]).to.include(`IMAGE_TRUST_AUTH_FILE ${file}: "${helper}" is not supported`);
    });
  }

  it('names the file when it is not JSON', async () => {
    const file = await config('{"auths": {');
    const { credentials, errors } = loadRegistryCredentials(file);
    expect(credentials).to.equal(undefined);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(new RegExp(`^IMAGE_TRUST_AUTH_FILE ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*JSON`));
  });

  it('names the file when it is missing', () => {
    const file = path.join(dir, 'absent.json');
    const { credentials, errors } = loadRegistryCredentials(file);
    expect(credentials).to.equal(undefined);
    expect(errors[0]).to.include(`IMAGE_TRUST_AUTH_FILE ${file}: `).and.include('ENOENT');
  });

  it('refuses an "auth" that does not decode to user:password, and an entry with neither form, all at once', async () => {
    const file = await config({ auths: { 'a.example.com': { auth: b64('no-colon-here') }, 'b.example.com': { username: 'only-user' }, 'c.example.com': { auth: b64('c:d') } } });
    const { credentials, errors } = loadRegistryCredentials(file);
    expect(credentials).to.equal(undefined);
    expect(errors).to.deep.equal([
      `IMAGE_TRUST_AUTH_FILE ${file}: auths["a.example.com"].auth is not base64 of user:password`,
      `IMAGE_TRUST_AUTH_FILE ${file}: auths["b.example.com"] has neither "auth" nor "username" and "password"`,
    ]);
  });

  it('refuses a file whose "auths" or whole content is not an object', async () => {
    const notObject = loadRegistryCredentials(await config({ auths: ['x'] }));
    expect(notObject.errors[0]).to.include('"auths" is not an object');
    const list = loadRegistryCredentials(await config([]));
    expect(list.errors[0]).to.include('not a JSON object');
  });
});
