import { expect } from 'chai';
import { CHECKS } from '../../../../../src/policies/leash/checks';
import { compiledCheck, facts } from '../helpers';

describe('leash Allow, Deny, ReadOnly, Privileged', () => {
  const METHODS: ReadonlyArray<readonly [string, boolean]> = [
    ['GET', true],
    ['HEAD', true],
    ['POST', false],
    ['PUT', false],
    ['DELETE', false],
  ];

  it('Allow always passes, Deny never does', () => {
    for (const [method] of METHODS) {
      expect(compiledCheck('Allow').run(facts({ method })).pass).to.equal(true);
      expect(compiledCheck('Deny').run(facts({ method }))).to.deep.equal({ pass: false, reason: 'Deny: always denied' });
    }
  });

  for (const [method, pass] of METHODS) {
    it(`ReadOnly ${pass ? 'passes' : 'fails'} ${method}`, () => {
      expect(compiledCheck('ReadOnly').run(facts({ method })).pass).to.equal(pass);
    });
  }

  it('ReadOnly names the method it refuses', () => {
    expect(compiledCheck('ReadOnly').run(facts({ method: 'POST' })).reason).to.equal('ReadOnly: POST is not a read-only method');
  });

  it('Privileged passes unless the container or exec process is privileged', () => {
    const check = compiledCheck('Privileged');
    expect(check.run(facts({ action: 'containersCreate', privileged: false })).pass).to.equal(true);
    expect(check.run(facts({ action: 'containersCreate', privileged: true }))).to.deep.equal({
      pass: false,
      reason: 'Privileged: the request asks for a privileged container',
    });
    expect(check.run(facts({ action: 'execCreate', namespace: 'exec', privileged: true })).reason).to.equal('Privileged: the request asks for a privileged exec process');
  });

  it('declares what each check needs looked up', () => {
    expect(CHECKS.BindMount.needs).to.deep.equal(['bindSources']);
    expect(CHECKS.ContainerName.needs).to.deep.equal(['containerNames']);
    expect(CHECKS.User.needs).to.deep.equal(['runAsUser']);
    for (const name of ['Allow', 'Deny', 'ReadOnly', 'Privileged', 'ImageName', 'VolumeName'] as const) expect(CHECKS[name].needs, name).to.deep.equal([]);
  });
});
