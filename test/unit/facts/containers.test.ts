import { expect } from 'chai';
import { containerAfterLegacyStart, containersFromCreate, readContainerWrapper } from '../../../src/facts/container-create';
import { containerAfterUpdate } from '../../../src/facts/container-update';
import { parseFirstValue } from '../../../src/facts/go-json';
import type { ContainerParams } from '../../../src/rules/api';

const wrapper = (text: string): ReturnType<typeof readContainerWrapper> => readContainerWrapper(parseFirstValue(text));

describe('facts: the container a create asks for (runconfig.ContainerConfigWrapper)', () => {
  const table: Array<[what: string, body: string, legacy: Record<string, unknown> | undefined, modern: Record<string, unknown> | undefined]> = [
    ['nested HostConfig only', '{"Image":"i","HostConfig":{"Privileged":true}}', { Privileged: true, NetworkMode: 'default' }, { Privileged: true, NetworkMode: 'default' }],
    ['top-level HostConfig fields, no nested one: used whole by engines <= 26', '{"Image":"i","Privileged":true,"Binds":["/etc:/h"]}', { Privileged: true, Binds: ['/etc:/h'], NetworkMode: 'default' }, undefined],
    ['top-level fields and a nested one: only five fields merged', '{"Image":"i","Privileged":true,"Memory":5,"CpuShares":9,"HostConfig":{"CpuShares":3}}', { Memory: 5, CpuShares: 3, NetworkMode: 'default' }, { CpuShares: 3, NetworkMode: 'default' }],
    ['a top-level null still allocates the embedded HostConfig', '{"Image":"i","Privileged":null}', { NetworkMode: 'default' }, undefined],
    ['Cpuset fills CpusetCpus', '{"Image":"i","Cpuset":"0-1","HostConfig":{}}', { CpusetCpus: '0-1', NetworkMode: 'default' }, { NetworkMode: 'default' }],
    ['HostConfig null, top-level fields present', '{"Image":"i","HostConfig":{"Privileged":false},"hostconfig":null,"privileged":true}', { Privileged: true, NetworkMode: 'default' }, undefined],
  ];
  for (const [what, body, legacy, modern] of table) {
    it(what, () => {
      const reading = wrapper(body);
      expect(reading.legacyHostConfig).to.deep.equal(legacy);
      expect(reading.hostConfig).to.deep.equal(modern);
    });
  }

  it('judges both readings when they differ, one when they agree', () => {
    expect(containersFromCreate(wrapper('{"Image":"i","HostConfig":{"Memory":1}}'), 'web')).to.deep.equal([{ Name: '/web', Config: { Image: 'i' }, HostConfig: { Memory: 1, NetworkMode: 'default' } }]);
    const views = containersFromCreate(wrapper('{"Image":"i","Privileged":true}'), '');
    expect(views.map((view) => view.HostConfig)).to.deep.equal([{ Privileged: true, NetworkMode: 'default' }, {}]);
    expect(views[0]!.Name).to.equal('');
  });

  it('reports type errors in promoted fields', () => {
    expect(wrapper('{"Image":"i","Privileged":"yes"}').typeError).to.match(/Privileged/);
    expect(wrapper('[]').typeError).to.match(/ContainerConfigWrapper/);
  });

  it('replaces the whole HostConfig on a legacy start with a HostConfig body', () => {
    const current: ContainerParams = { Id: 'c', Name: '/x', HostConfig: { Memory: 5, NetworkMode: 'none' } };
    expect(containerAfterLegacyStart(current, wrapper('{"Privileged":true,"Binds":["/etc:/h"]}')).HostConfig).to.deep.equal({ Privileged: true, Binds: ['/etc:/h'], NetworkMode: 'default' });
    expect(containerAfterLegacyStart(current, wrapper('{"Image":"other"}'))).to.equal(current);
  });
});

describe('facts: the container after an update, as dockerd applies it', () => {
  const current: ContainerParams = { Id: 'c', HostConfig: { Memory: 100, MemorySwap: 200, CpuShares: 512, PidsLimit: 50, Privileged: false, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } } };
  const table: Array<[what: string, update: Record<string, unknown>, version: string, expected: Record<string, unknown>]> = [
    ['zeros leave settings alone', { Memory: 0, CpuShares: 0, CpusetCpus: '' }, '1.41', {}],
    ['non-zero values replace', { Memory: 150, CpuShares: 1024 }, '1.41', { Memory: 150, CpuShares: 1024 }],
    ['PidsLimit 0 means unlimited (stored as 0) from API 1.40', { PidsLimit: 0 }, '1.41', { PidsLimit: 0 }],
    ['a negative PidsLimit means unlimited too', { PidsLimit: -1 }, '1.41', { PidsLimit: 0 }],
    ['PidsLimit is ignored below API 1.40', { PidsLimit: 0 }, '1.39', {}],
    ['a named restart policy replaces the old one', { RestartPolicy: { Name: 'always' } }, '1.41', { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } }],
    ['an unnamed restart policy changes nothing', { RestartPolicy: { MaximumRetryCount: 3 } }, '1.41', {}],
    ['fields outside UpdateConfig are ignored', { Privileged: true, Binds: ['/:/h'] }, '1.41', {}],
    ['KernelMemory applies below API 1.42 only', { KernelMemory: 9 }, '1.42', {}],
    ['blkio device lists change from API 1.55', { BlkioWeightDevice: [{ Path: '/dev/sda', Weight: 10 }] }, '1.54', {}],
  ];
  for (const [what, update, version, changed] of table) {
    it(what, () => {
      const after = containerAfterUpdate(current, update, version);
      expect(after.HostConfig).to.deep.equal({ ...current.HostConfig, ...changed });
    });
  }
});
