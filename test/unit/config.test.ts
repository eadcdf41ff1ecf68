import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeConfig, loadConfig, parseDockerSocket } from '../../src/config';
import { problemsOf } from './config-problems';

describe('config', () => {
  it('uses the original defaults', () => {
    const config = loadConfig({}, '/srv', '1.2.3');
    expect(config.runPeriodic).to.equal(true);
    expect(config.runStartEvents).to.equal(false);
    expect(config.checkIntervalS).to.equal(600);
    expect(config.mode).to.equal('WARN');
    expect(config.cacheParams).to.equal(true);
    expect(config.stopOnFirstViolation).to.equal(true);
    expect(config.defaultActionAllow).to.equal(true);
    expect(config.httpPort).to.equal(8888);
    expect(config.stopTimeoutS).to.equal(10);
    expect(config.ruleTimeoutMs).to.equal(200);
    expect(config.dockerEndpoint).to.deep.equal({ kind: 'unix', socketPath: '/var/run/docker.sock' });
    // Deliberately not the original's `docker-enforcer,docker_enforcer`: a name anyone can take.
    expect(config.whiteList.entries).to.deep.equal([]);
    expect(config.selfContainer).to.equal('');
    expect(config.authzOnHttpPort).to.equal(true);
    expect(config.authzAllowUnknown).to.equal(false);
    expect(config.authzAllowedPeers.entries).to.deep.equal(['127.0.0.0/8', '::1']);
    expect(config.imageWhiteList.entries).to.deep.equal([]);
    expect(config.rulesPath).to.equal('/srv/rules/rules.ts');
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it('accepts the boolean spellings and any case of MODE and LOG_LEVEL', () => {
    for (const [text, value] of [['True', true], ['true', true], ['1', true], ['yes', true], ['False', false], ['no', false], ['0', false]] as const) {
      expect(loadConfig({ RUN_PERIODIC: text }, '/', 't').runPeriodic).to.equal(value);
    }
    expect(loadConfig({ MODE: 'kill' }, '/', 't').mode).to.equal('KILL');
    expect(loadConfig({ MODE: 'Warn' }, '/', 't').mode).to.equal('WARN');
    expect(loadConfig({ LOG_LEVEL: 'WARNING' }, '/', 't').logLevel).to.equal('warn');
    expect(loadConfig({ LOG_LEVEL: 'debug' }, '/', 't').logLevel).to.equal('debug');
    expect(loadConfig({ LOG_LEVEL: 'CRITICAL' }, '/', 't').logLevel).to.equal('fatal');
  });

  it('reports every bad variable at once, naming each', () => {
    const problems = problemsOf({ MODE: 'STOP', CHECK_INTERVAL_S: 'ten', RUN_PERIODIC: 'maybe', WHITE_LIST: 'ok,([bad', DOCKER_SOCKET: 'ftp://x', LOG_LEVEL: 'loud' });
    expect(problems).to.have.length(6);
    expect(problems.join('\n')).to.include('MODE="STOP"').and.include('CHECK_INTERVAL_S="ten"').and.include('RUN_PERIODIC="maybe"');
    expect(problems.join('\n')).to.include('WHITE_LIST: entry "([bad"').and.include('DOCKER_SOCKET').and.include('LOG_LEVEL="loud"');
  });

  it('reads AUTHZ_ALLOWED_PEERS as addresses and CIDR ranges, naming each bad entry', () => {
    const problems = problemsOf({ AUTHZ_ALLOWED_PEERS: '10.0.0.0/8,fd00::/8,10.1.2.3,not-an-ip,10.0.0.0/33,::1/x', SELF_CONTAINER: 'a b' });
    expect(problems.join('\n')).to.include('"not-an-ip"').and.include('"10.0.0.0/33"').and.include('"::1/x"').and.include('SELF_CONTAINER="a b"');
    expect(problems).to.have.length(4);
  });

  it('rejects out-of-range numbers', () => {
    expect(problemsOf({ HTTP_PORT: '70000' })[0]).to.include('HTTP_PORT');
    expect(problemsOf({ RULE_TIMEOUT_MS: '0' })[0]).to.include('RULE_TIMEOUT_MS');
    expect(problemsOf({ CHECK_INTERVAL_S: '-5' })[0]).to.include('CHECK_INTERVAL_S');
  });

  it('parses the DOCKER_SOCKET forms of the original', () => {
    expect(parseDockerSocket('unix:///run/docker.sock')).to.deep.equal({ kind: 'unix', socketPath: '/run/docker.sock' });
    expect(parseDockerSocket('tcp://10.0.0.1:2375')).to.deep.equal({ kind: 'tcp', protocol: 'http', host: '10.0.0.1', port: 2375 });
    expect(parseDockerSocket('docker-host:2376')).to.deep.equal({ kind: 'tcp', protocol: 'http', host: 'docker-host', port: 2376 });
    expect(parseDockerSocket('https://h:2376')).to.deep.equal({ kind: 'tcp', protocol: 'https', host: 'h', port: 2376 });
    expect(parseDockerSocket('unix://relative.sock')).to.be.a('string');
    expect(parseDockerSocket('nonsense')).to.be.a('string');
  });

  it('resolves rule paths against the working directory unless absolute', () => {
    const config = loadConfig({ RULES_PATH: 'custom/r.ts', WHITELIST_RULES_PATH: '/etc/de/w.ts' }, '/opt/de', 't');
    expect(config.rulesPath).to.equal('/opt/de/custom/r.ts');
    expect(config.whitelistRulesPath).to.equal('/etc/de/w.ts');
  });

  it('describes itself with the original keys', () => {
    const described = describeConfig(loadConfig({ MODE: 'KILL' }, '/', '9.9.9'));
    for (const key of ['cache_params', 'default_allow', 'disable_metrics', 'disable_params', 'docker_req_timeout_sec', 'docker_socket', 'image_white_list', 'immediate_periodical_start', 'interval_sec', 'log_authz_requests', 'log_level', 'mode', 'run_periodic', 'run_rename_events', 'run_start_events', 'run_update_events', 'stop_on_first_violation', 'version', 'white_list', 'white_list_separator']) {
      expect(described, key).to.have.property(key);
    }
    expect(described['mode']).to.equal('KILL');
    expect(described['version']).to.equal('9.9.9');
  });
});

describe('config: image trust', () => {
  let dir = '';
  let keyFile = '';

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'de-config-trust-'));
    keyFile = path.join(dir, 'cosign.pub');
    await writeFile(keyFile, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString());
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is off unless registries are named', () => {
    expect(loadConfig({}, '/srv', 't').imageTrust).to.equal(undefined);
    expect(loadConfig({ TRUSTED_REGISTRIES: '  ', IMAGE_TRUST_TIMEOUT_MS: '100' }, '/srv', 't').imageTrust).to.equal(undefined);
    expect(describeConfig(loadConfig({}, '/srv', 't'))['trusted_registries']).to.deep.equal([]);
  });

  it('refuses a list of no registries: a gate that trusts nothing would deny every image', () => {
    for (const [name, value] of [['TRUSTED_REGISTRIES', ' , '], ['REGISTRY', ',']] as const) {
      const problems = problemsOf({ [name]: value });
      expect(problems, name).to.have.length(1);
      expect(problems[0], name).to.match(new RegExp(`^${name}=`)).and.include('names no registry');
    }
  });

  it('reads TRUSTED_REGISTRIES as hosts, normalised as image names are, without duplicates', () => {
    const trust = loadConfig({ TRUSTED_REGISTRIES: 'index.docker.io, Registry.Example.com ,127.0.0.1:5000,docker.io,[::1]:5000' }, '/srv', 't').imageTrust;
    expect(trust).to.not.equal(undefined);
    expect(trust!.registries).to.deep.equal(['docker.io', 'registry.example.com', '127.0.0.1:5000', '[::1]:5000']);
    expect(trust!.keys).to.deep.equal([]);
    expect(trust!).to.include({ allowLocalBuilds: false, timeoutMs: 5000, cacheTtlMs: 600_000 });
  });

  it("takes img-authz-plugin's REGISTRY as an alias, TRUSTED_REGISTRIES first", () => {
    expect(loadConfig({ REGISTRY: 'registry.example.com' }, '/srv', 't').imageTrust!.registries).to.deep.equal(['registry.example.com']);
    expect(loadConfig({ REGISTRY: 'registry.example.com', TRUSTED_REGISTRIES: '127.0.0.1:5000' }, '/srv', 't').imageTrust!.registries).to.deep.equal(['127.0.0.1:5000']);
  });

  it('loads IMAGE_SIGNATURE_KEYS relative to the working directory', () => {
    const trust = loadConfig({ TRUSTED_REGISTRIES: '127.0.0.1:5000', IMAGE_SIGNATURE_KEYS: 'cosign.pub', IMAGE_TRUST_ALLOW_LOCAL_BUILDS: 'True', IMAGE_TRUST_TIMEOUT_MS: '1500' }, dir, 't').imageTrust!;
    expect(trust.keys.map((k) => k.file)).to.deep.equal([keyFile]);
    expect(trust.keys[0]!.fingerprint).to.match(/^sha256:[a-f0-9]{64}$/);
    expect(trust).to.include({ allowLocalBuilds: true, timeoutMs: 1500 });
  });

  it('refuses NOTARY, pointing to IMAGE_SIGNATURE_KEYS', () => {
    const problems = problemsOf({ NOTARY: 'https://notary.example.com' });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/^NOTARY: /).and.include('IMAGE_SIGNATURE_KEYS');
  });

  it('refuses IMAGE_SIGNATURE_KEYS without TRUSTED_REGISTRIES: keys alone would gate nothing', () => {
    const problems = problemsOf({ IMAGE_SIGNATURE_KEYS: keyFile });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.include('IMAGE_SIGNATURE_KEYS is set but TRUSTED_REGISTRIES is not');
  });

  it('reports a bad registry host and a bad key file at once, each named', () => {
    const missing = path.join(dir, 'missing.pub');
    const problems = problemsOf({ TRUSTED_REGISTRIES: 'https://registry.example.com,127.0.0.1:5000', IMAGE_SIGNATURE_KEYS: `${keyFile},${missing}`, IMAGE_TRUST_TIMEOUT_MS: '0' });
    expect(problems).to.have.length(3);
    expect(problems.join('\n')).to.include('TRUSTED_REGISTRIES: "https://registry.example.com"').and.include('without a scheme');
    expect(problems.join('\n')).to.include(`IMAGE_SIGNATURE_KEYS ${missing}`);
    expect(problems.join('\n')).to.include('IMAGE_TRUST_TIMEOUT_MS="0"');
  });

  it('names the alias in its problems when the alias is what was set', () => {
    const problems = problemsOf({ REGISTRY: 'registry.example.com/path' });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/^REGISTRY: "registry\.example\.com\/path"/);
  });

  it('reads IMAGE_TRUST_AUTH_FILE and reports its problems with the others', async () => {
    const auth = path.join(dir, 'config.json');
    await writeFile(auth, JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hub:token').toString('base64') } } }));
    const trust = loadConfig({ TRUSTED_REGISTRIES: 'docker.io', IMAGE_TRUST_AUTH_FILE: 'config.json' }, dir, 't').imageTrust!;
    expect(trust.authFile).to.equal(auth);
    expect(trust.credentials!.basic('docker.io')).to.equal(Buffer.from('hub:token').toString('base64'));

    await writeFile(path.join(dir, 'helper.json'), JSON.stringify({ credsStore: 'desktop' }));
    const problems = problemsOf({ TRUSTED_REGISTRIES: 'docker.io', IMAGE_TRUST_AUTH_FILE: path.join(dir, 'helper.json'), MODE: 'nope' });
    expect(problems).to.have.length(2);
    expect(problems.join('\n')).to.include('"credsStore" is not supported').and.include('MODE="nope"');
  });
});

describe('config: self-protection', () => {
  it('is on by default, with no admins and the plugin name the README registers', () => {
    const config = loadConfig({}, '/srv', 'test');
    expect(config.selfProtection).to.equal(true);
    expect(config.selfProtectionAdmins).to.deep.equal([]);
    expect(config.selfPluginNames).to.deep.equal(['enforcer']);
  });

  it('reads SELF_PROTECTION as a boolean and refuses anything else', () => {
    expect(loadConfig({ SELF_PROTECTION: 'False' }, '/srv', 'test').selfProtection).to.equal(false);
    expect(loadConfig({ SELF_PROTECTION: 'no' }, '/srv', 'test').selfProtection).to.equal(false);
    expect(loadConfig({ SELF_PROTECTION: 'TRUE' }, '/srv', 'test').selfProtection).to.equal(true);
    expect(problemsOf({ SELF_PROTECTION: 'sometimes' })).to.deep.equal(['SELF_PROTECTION="sometimes": expected True/False (also true/false, 1/0, yes/no)']);
  });

  it('reads SELF_PROTECTION_ADMINS as a comma list of user names, trimmed, without duplicates', () => {
    expect(loadConfig({ SELF_PROTECTION_ADMINS: ' alice, bob ,,alice' }, '/srv', 'test').selfProtectionAdmins).to.deep.equal(['alice', 'bob']);
  });

  it('reads SELF_PLUGIN_NAMES as plugin names dockerd accepts, naming each bad one', () => {
    expect(loadConfig({ SELF_PLUGIN_NAMES: 'enforcer, registry.local:5000/team/authz:v2' }, '/srv', 'test').selfPluginNames).to.deep.equal(['enforcer', 'registry.local:5000/team/authz:v2']);
    expect(loadConfig({ SELF_PLUGIN_NAMES: '' }, '/srv', 'test').selfPluginNames).to.deep.equal([]);
    const problems = problemsOf({ SELF_PLUGIN_NAMES: `Enforcer,enforcer@sha256:${'a'.repeat(64)}` });
    expect(problems).to.have.length(2);
    expect(problems[0]).to.match(/^SELF_PLUGIN_NAMES: "Enforcer": /);
    expect(problems[1]).to.equal(`SELF_PLUGIN_NAMES: "enforcer@sha256:${'a'.repeat(64)}": a plugin is named without a digest`);
  });

  it('shows the settings on /config', () => {
    const described = describeConfig(loadConfig({ SELF_PROTECTION: 'False', SELF_PROTECTION_ADMINS: 'alice' }, '/srv', 'test'));
    expect(described).to.deep.include({ self_protection: false, self_protection_admins: ['alice'], self_plugin_names: ['enforcer'] });
  });
});
