/** AUTHZ_TLS_* and DOCKER_SOCKET=none: every problem at once, named after its variable. */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeConfig, loadConfig, parseDockerSocket } from '../../../src/config';
import { problemsOf } from '../config-problems';

describe('config: AUTHZ_TLS_*', () => {
  let dir: string;
  let files: { cert: string; key: string; ca: string; otherKey: string; junk: string };

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'de-tls-config-'));
    const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test CA');
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server-key.pem', '-out', 'server.pem', '-days', '1', '-subj', '/CN=localhost');
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other-key.pem');
    writeFileSync(path.join(dir, 'junk.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
    files = { cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server-key.pem'), ca: path.join(dir, 'ca.pem'), otherKey: path.join(dir, 'other-key.pem'), junk: path.join(dir, 'junk.pem') };
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const all = (): Record<string, string> => ({ AUTHZ_TLS_CERT: files.cert, AUTHZ_TLS_KEY: files.key, AUTHZ_TLS_CA: files.ca, AUTHZ_TLS_PORT: '8443' });

  it('is off when none is set', () => {
    const config = loadConfig({}, '/srv', 'test');
    expect(config.authzTls).to.equal(undefined);
    expect(describeConfig(config)['authz_tls_port']).to.equal(null);
  });

  it('reads all four: the files parsed, the port', () => {
    const config = loadConfig(all(), '/srv', 'test');
    expect(config.authzTls).to.include({ certFile: files.cert, keyFile: files.key, caFile: files.ca, port: 8443, host: '0.0.0.0' });
    expect(config.authzTls?.cert).to.include('BEGIN CERTIFICATE');
    const described = describeConfig(config);
    expect(described).to.include({ authz_tls_cert: files.cert, authz_tls_port: 8443 });
    // The key's text is never shown.
    expect(JSON.stringify(described)).not.to.include('PRIVATE KEY');
  });

  it('listens on AUTHZ_TLS_HOST when given, else on HTTP_HOST', () => {
    expect(loadConfig({ ...all(), HTTP_HOST: '127.0.0.1' }, '/srv', 'test').authzTls?.host).to.equal('127.0.0.1');
    expect(loadConfig({ ...all(), HTTP_HOST: '127.0.0.1', AUTHZ_TLS_HOST: '10.0.0.5' }, '/srv', 'test').authzTls?.host).to.equal('10.0.0.5');
    expect(problemsOf({ AUTHZ_TLS_HOST: '0.0.0.0' })).to.deep.equal(['AUTHZ_TLS_HOST is set without AUTHZ_TLS_CERT, AUTHZ_TLS_KEY, AUTHZ_TLS_CA and AUTHZ_TLS_PORT: there is no HTTPS listener to place']);
  });

  const cases: Array<[string, () => Record<string, string>, RegExp[]]> = [
    ['one without the others', () => ({ AUTHZ_TLS_PORT: '8443' }), [/AUTHZ_TLS_PORT set without AUTHZ_TLS_CERT, AUTHZ_TLS_KEY, AUTHZ_TLS_CA/]],
    ['three without the port', () => ({ ...all(), AUTHZ_TLS_PORT: '' }), [/without AUTHZ_TLS_PORT/]],
    ['port 0', () => ({ ...all(), AUTHZ_TLS_PORT: '0' }), [/AUTHZ_TLS_PORT="0": expected a whole number from 1 to 65535/]],
    ['port 65536', () => ({ ...all(), AUTHZ_TLS_PORT: '65536' }), [/AUTHZ_TLS_PORT="65536"/]],
    ['the port of HTTP_PORT', () => ({ ...all(), HTTP_PORT: '8443' }), [/AUTHZ_TLS_PORT=8443: is HTTP_PORT too/]],
    ['a missing certificate file', () => ({ ...all(), AUTHZ_TLS_CERT: '/nonexistent/cert.pem' }), [/AUTHZ_TLS_CERT="\/nonexistent\/cert.pem": cannot be read \(ENOENT\)/]],
    ['a key as the certificate', () => ({ ...all(), AUTHZ_TLS_CERT: files.key }), [/AUTHZ_TLS_CERT=.*holds no PEM certificate/]],
    ['a certificate that does not parse', () => ({ ...all(), AUTHZ_TLS_CA: files.junk }), [/AUTHZ_TLS_CA=.*certificate 1 does not parse/]],
    ['a certificate as the key', () => ({ ...all(), AUTHZ_TLS_KEY: files.cert }), [/AUTHZ_TLS_KEY=.*not a PEM private key/]],
    ['a key of another certificate', () => ({ ...all(), AUTHZ_TLS_KEY: files.otherKey }), [/AUTHZ_TLS_KEY=.*is not the key of the certificate in AUTHZ_TLS_CERT/]],
    [
      'every problem at once',
      () => ({ AUTHZ_TLS_CERT: '/nonexistent/a.pem', AUTHZ_TLS_KEY: '/nonexistent/b.pem', AUTHZ_TLS_CA: files.key, AUTHZ_TLS_PORT: 'x', MODE: 'nope' }),
      [/AUTHZ_TLS_PORT="x"/, /AUTHZ_TLS_CERT=.*cannot be read/, /AUTHZ_TLS_KEY=.*cannot be read/, /AUTHZ_TLS_CA=.*holds no PEM certificate/, /MODE="nope"/],
    ],
  ];
  for (const [name, env, expected] of cases) {
    it(`refuses ${name}`, () => {
      const problems = problemsOf(env());
      for (const pattern of expected) expect(problems.some((p) => pattern.test(p)), `${pattern} in ${JSON.stringify(problems)}`).to.equal(true);
      expect(problems).to.have.length(expected.length);
    });
  }
});

describe('config: DOCKER_SOCKET=none (the server profile)', () => {
  it('parses none as no engine', () => {
    expect(parseDockerSocket('none')).to.deep.equal({ kind: 'none' });
    expect(parseDockerSocket(' NONE ')).to.deep.equal({ kind: 'none' });
  });

  it('turns periodic checks and events off when left at their defaults', () => {
    const config = loadConfig({ DOCKER_SOCKET: 'none' }, '/srv', 'test');
    expect(config.serverProfile).to.equal(true);
    expect(config.dockerEndpoint).to.deep.equal({ kind: 'none' });
    expect(config).to.include({ runPeriodic: false, runStartEvents: false, runUpdateEvents: false, runRenameEvents: false });
    expect(describeConfig(config)).to.include({ server_profile: true, run_periodic: false, docker_socket: 'none' });
  });

  it('accepts them explicitly off', () => {
    expect(problemsOf({ DOCKER_SOCKET: 'none', RUN_PERIODIC: 'False', RUN_START_EVENTS: 'false' })).to.deep.equal([]);
  });

  it('refuses them explicitly on, naming each', () => {
    const problems = problemsOf({ DOCKER_SOCKET: 'none', RUN_PERIODIC: 'True', RUN_START_EVENTS: 'yes', RUN_UPDATE_EVENTS: 'False' });
    expect(problems).to.have.length(2);
    expect(problems[0]).to.match(/^RUN_PERIODIC="True": DOCKER_SOCKET=none has no engine/);
    expect(problems[1]).to.match(/^RUN_START_EVENTS="yes"/);
  });

  it('is not the server profile for an engine address', () => {
    expect(loadConfig({}, '/srv', 'test').serverProfile).to.equal(false);
  });
});
