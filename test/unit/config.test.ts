import { expect } from 'chai';
import { ConfigError, describeConfig, loadConfig, parseDockerSocket } from '../../src/config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv', 'test');
  } catch (err: unknown) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

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
