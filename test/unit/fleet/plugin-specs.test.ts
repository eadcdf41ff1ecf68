import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pluginSpecWarnings } from '../../../src/cli/plugin-specs';

describe('check: TLS plugin specs on the host', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'de-specs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const spec = (name: string, value: unknown): void => writeFileSync(path.join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));

  it('warns about TLSConfig without a CAFile (dockerd then skips verification silently)', () => {
    spec('a.json', { Name: 'a', Addr: 'https://10.0.0.1:8443', TLSConfig: { CAFile: '', CertFile: '/c.pem', KeyFile: '/k.pem' } });
    spec('b.json', { Name: 'b', Addr: 'https://10.0.0.1:8443', tlsconfig: { certfile: '/c.pem' } });
    const warnings = pluginSpecWarnings(dir);
    expect(warnings).to.have.length(2);
    expect(warnings[0]).to.include(path.join(dir, 'a.json'));
    for (const warning of warnings) expect(warning).to.include("dockerd silently skips verifying the plugin's certificate");
  });

  it('is quiet about specs that verify, specs without TLS and other files', () => {
    spec('ok.json', { Name: 'ok', Addr: 'https://10.0.0.1:8443', TLSConfig: { CAFile: '/ca.pem', CertFile: '/c.pem', KeyFile: '/k.pem', InsecureSkipVerify: false } });
    spec('plain.json', { Name: 'plain', Addr: 'http://127.0.0.1:8888' });
    spec('enforcer.spec', 'tcp://127.0.0.1:8888\n');
    expect(pluginSpecWarnings(dir)).to.deep.equal([]);
  });

  it('warns about InsecureSkipVerify and about a spec that is not JSON', () => {
    spec('skip.json', { Name: 'skip', TLSConfig: { CAFile: '/ca.pem', InsecureSkipVerify: true } });
    spec('broken.json', '{');
    const warnings = pluginSpecWarnings(dir);
    expect(warnings.some((w) => w.includes('broken.json') && w.includes('not a JSON plugin spec'))).to.equal(true);
    expect(warnings.some((w) => w.includes('skip.json') && w.includes('InsecureSkipVerify'))).to.equal(true);
  });

  it('says nothing where there is no plugin folder (not a Docker host)', () => {
    expect(pluginSpecWarnings(path.join(dir, 'absent'))).to.deep.equal([]);
  });
});
