import { expect } from 'chai';
import { ConfigError, describeConfig, loadConfig } from '../../src/config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv', 'test');
  } catch (err: unknown) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

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
