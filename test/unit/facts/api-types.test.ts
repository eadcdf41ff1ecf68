import { expect } from 'chai';
import {
  ALL_REQUEST_TYPES,
  AUTH_CONFIG,
  CONTAINER_CONFIG,
  EXEC_CONFIG,
  HOST_CONFIG,
  NETWORKING_CONFIG,
  NETWORK_CREATE_REQUEST,
  PLUGIN_PRIVILEGES,
  RESOURCES,
  SERVICE_SPEC,
  SWARM_SPEC,
  UPDATE_CONFIG,
} from '../../../src/facts/api-types';
import type { GoType, StructType } from '../../../src/facts/go-type';
import { REQUEST_BODIES } from '../../../src/facts/request-bodies';

/** Go's field-name folding: ASCII letters without case, plus U+017F (long s) ≡ s and U+212A (Kelvin) ≡ k. */
function fold(name: string): string {
  let out = '';
  for (const ch of name) {
    if (ch === '\u017f') out += 's';
    else if (ch === '\u212a') out += 'k';
    else if (ch >= 'A' && ch <= 'Z') out += ch.toLowerCase();
    else out += ch;
  }
  return out;
}

function structsOf(roots: readonly GoType[]): StructType[] {
  const seen = new Set<StructType>();
  const visit = (type: GoType): void => {
    switch (type.kind) {
      case 'struct':
        if (seen.has(type)) return;
        seen.add(type);
        for (const field of Object.values(type.fields)) visit(field);
        return;
      case 'map':
        visit(type.value);
        return;
      case 'slice':
      case 'array':
        visit(type.item);
        return;
      default:
        return;
    }
  };
  roots.forEach(visit);
  return [...seen];
}

/** Follows a path of field names; `[]` steps into a slice, array or map value. */
function at(type: GoType, path: string): GoType {
  let current = type;
  for (const step of path.split('.')) {
    if (step === '[]') {
      if (current.kind === 'slice' || current.kind === 'array') current = current.item;
      else if (current.kind === 'map') current = current.value;
      else throw new Error(`${path}: ${current.kind} has no items`);
      continue;
    }
    if (current.kind !== 'struct') throw new Error(`${path}: ${current.kind} has no field ${step}`);
    const next = current.fields[step];
    if (next === undefined) throw new Error(`${path}: no field ${step} in ${current.name}`);
    current = next;
  }
  return current;
}

const ROOTS: GoType[] = [...Object.values(ALL_REQUEST_TYPES), ...Object.values(REQUEST_BODIES).map((spec) => spec.type)];
const STRUCTS = structsOf(ROOTS);

describe('facts/api-types', () => {
  it('reaches the nested structs', () => {
    expect(STRUCTS.length).to.be.greaterThan(60);
  });

  it('has no two field names of one struct equal under Go case folding', () => {
    for (const type of STRUCTS) {
      const byFold = new Map<string, string>();
      for (const name of Object.keys(type.fields)) {
        const other = byFold.get(fold(name));
        expect(other, `${type.name}: ${name} and ${other ?? ''}`).to.equal(undefined);
        byFold.set(fold(name), name);
      }
    }
  });

  it('folds the two non-ASCII letters Go folds', () => {
    expect(fold('\u017fecurityOpt')).to.equal(fold('SecurityOpt'));
    expect(fold('\u212aind')).to.equal(fold('kind'));
  });

  it('names every struct', () => {
    for (const type of STRUCTS) expect(type.name, JSON.stringify(Object.keys(type.fields))).to.be.a('string').and.not.equal('');
  });

  it('lists every field once with no empty name', () => {
    for (const type of STRUCTS) for (const name of Object.keys(type.fields)) expect(name).to.not.equal('');
  });

  describe('HostConfig', () => {
    it('keeps scalars, pointers and StrSlice apart', () => {
      expect(at(HOST_CONFIG, 'Privileged')).to.deep.equal({ kind: 'bool', ptr: false });
      expect(at(HOST_CONFIG, 'PidsLimit')).to.deep.equal({ kind: 'int', ptr: true });
      expect(at(HOST_CONFIG, 'Init')).to.deep.equal({ kind: 'bool', ptr: true });
      expect(at(HOST_CONFIG, 'CapAdd')).to.deep.equal({ kind: 'strslice' });
      expect(at(HOST_CONFIG, 'Binds')).to.deep.equal({ kind: 'slice', item: { kind: 'string', ptr: false } });
      expect(at(HOST_CONFIG, 'ConsoleSize')).to.deep.equal({ kind: 'array', item: { kind: 'uint', ptr: false }, length: 2 });
    });

    it('promotes Resources and uses the JSON tag names', () => {
      for (const name of Object.keys(RESOURCES.fields)) expect(HOST_CONFIG.fields, name).to.have.property(name);
      expect(HOST_CONFIG.fields).to.have.property('CpuShares');
      expect(HOST_CONFIG.fields).to.have.property('Dns');
      expect(HOST_CONFIG.fields).to.not.have.property('CPUShares');
      expect(HOST_CONFIG.fields).to.not.have.property('Resources');
      expect(at(HOST_CONFIG, 'Ulimits.[]')).to.include({ kind: 'struct', ptr: true, name: 'units.Ulimit' });
      expect(at(HOST_CONFIG, 'BlkioDeviceReadBps.[].Rate')).to.deep.equal({ kind: 'uint', ptr: false });
    });

    it('reaches mount options, port bindings, devices and log config', () => {
      expect(at(HOST_CONFIG, 'Mounts.[].BindOptions')).to.include({ kind: 'struct', ptr: true, name: 'mount.BindOptions' });
      expect(at(HOST_CONFIG, 'Mounts.[].BindOptions.Propagation')).to.deep.equal({ kind: 'string', ptr: false });
      expect(at(HOST_CONFIG, 'Mounts.[].VolumeOptions.DriverConfig.Options')).to.deep.equal({ kind: 'map', value: { kind: 'string', ptr: false } });
      expect(at(HOST_CONFIG, 'Mounts.[].TmpfsOptions.Options.[].[]')).to.deep.equal({ kind: 'string', ptr: false });
      expect(at(HOST_CONFIG, 'Mounts.[].ImageOptions.Subpath')).to.deep.equal({ kind: 'string', ptr: false });
      expect(at(HOST_CONFIG, 'Mounts.[].ClusterOptions')).to.include({ kind: 'struct', ptr: true });
      expect(at(HOST_CONFIG, 'PortBindings.[].[].HostIp')).to.include({ kind: 'string' });
      expect(at(HOST_CONFIG, 'Devices.[].PathOnHost')).to.deep.equal({ kind: 'string', ptr: false });
      expect(at(HOST_CONFIG, 'DeviceRequests.[].Capabilities.[].[]')).to.deep.equal({ kind: 'string', ptr: false });
      expect(at(HOST_CONFIG, 'LogConfig')).to.include({ kind: 'struct', ptr: false });
      expect(at(HOST_CONFIG, 'RestartPolicy.MaximumRetryCount')).to.deep.equal({ kind: 'int', ptr: false });
    });

    it('keeps fields only one version knows', () => {
      expect(HOST_CONFIG.fields).to.have.property('KernelMemory'); // 20.10
      expect(HOST_CONFIG.fields).to.have.property('Annotations'); // current engine
    });
  });

  describe('Config, NetworkingConfig, UpdateConfig', () => {
    it('describes container.Config', () => {
      expect(at(CONTAINER_CONFIG, 'Cmd')).to.deep.equal({ kind: 'strslice' });
      expect(at(CONTAINER_CONFIG, 'Entrypoint')).to.deep.equal({ kind: 'strslice' });
      expect(at(CONTAINER_CONFIG, 'StopTimeout')).to.deep.equal({ kind: 'int', ptr: true });
      expect(at(CONTAINER_CONFIG, 'Healthcheck.StartInterval')).to.deep.equal({ kind: 'int', ptr: false });
      expect(at(CONTAINER_CONFIG, 'Volumes.[]')).to.include({ kind: 'struct', name: 'struct{}' });
      expect(CONTAINER_CONFIG.fields).to.have.property('MacAddress');
    });

    it('describes the endpoint settings', () => {
      expect(at(NETWORKING_CONFIG, 'EndpointsConfig.[]')).to.include({ kind: 'struct', ptr: true, name: 'network.EndpointSettings' });
      expect(at(NETWORKING_CONFIG, 'EndpointsConfig.[].IPAMConfig.LinkLocalIPs.[]')).to.include({ kind: 'string' });
      expect(at(NETWORKING_CONFIG, 'EndpointsConfig.[].MacAddress')).to.deep.equal({ kind: 'string', ptr: true });
    });

    it('describes UpdateConfig as Resources plus RestartPolicy', () => {
      expect(Object.keys(UPDATE_CONFIG.fields).sort()).to.deep.equal([...Object.keys(RESOURCES.fields), 'RestartPolicy'].sort());
    });

    it('leaves no field of the 20.10 create wrapper annulled by a name clash', () => {
      // Depth 0: the wrapper's own fields; depth 1: Config's and HostConfig's; depth 2: Resources'.
      const own = ['HostConfig', 'Cpuset', 'NetworkingConfig'];
      const resources = Object.keys(RESOURCES.fields);
      const hostOnly = Object.keys(HOST_CONFIG.fields).filter((name) => !resources.includes(name));
      const all = [...own, ...Object.keys(CONTAINER_CONFIG.fields), ...hostOnly, ...resources];
      expect(new Set(all.map(fold)).size).to.equal(all.length);
    });
  });

  describe('exec, network, swarm, plugins, auth', () => {
    it('describes exec create', () => {
      expect(at(EXEC_CONFIG, 'User')).to.deep.equal({ kind: 'string', ptr: false });
      expect(at(EXEC_CONFIG, 'Privileged')).to.deep.equal({ kind: 'bool', ptr: false });
      expect(at(EXEC_CONFIG, 'Cmd')).to.deep.equal({ kind: 'slice', item: { kind: 'string', ptr: false } });
    });

    it('describes network create', () => {
      expect(at(NETWORK_CREATE_REQUEST, 'IPAM.Config.[].AuxiliaryAddresses')).to.include({ kind: 'map' });
      expect(at(NETWORK_CREATE_REQUEST, 'EnableIPv6')).to.deep.equal({ kind: 'bool', ptr: true });
      expect(at(NETWORK_CREATE_REQUEST, 'ConfigFrom.Network')).to.deep.equal({ kind: 'string', ptr: false });
    });

    it('reaches the container spec of a service', () => {
      expect(at(SERVICE_SPEC, 'Name')).to.deep.equal({ kind: 'string', ptr: false });
      expect(at(SERVICE_SPEC, 'Labels')).to.include({ kind: 'map' });
      expect(at(SERVICE_SPEC, 'TaskTemplate.ContainerSpec.Mounts.[].BindOptions.Propagation')).to.deep.equal({ kind: 'string', ptr: false });
      expect(at(SERVICE_SPEC, 'TaskTemplate.ContainerSpec.Privileges.SELinuxContext.Disable')).to.deep.equal({ kind: 'bool', ptr: false });
      expect(at(SERVICE_SPEC, 'TaskTemplate.ContainerSpec.Privileges.Seccomp.Profile')).to.deep.equal({ kind: 'bytes' });
      expect(at(SERVICE_SPEC, 'TaskTemplate.ContainerSpec.CapabilityAdd')).to.deep.equal({ kind: 'slice', item: { kind: 'string', ptr: false } });
      expect(at(SERVICE_SPEC, 'TaskTemplate.PluginSpec.privileges.[].value.[]')).to.deep.equal({ kind: 'string', ptr: false });
      expect(at(SERVICE_SPEC, 'TaskTemplate.Resources.Limits.Pids')).to.deep.equal({ kind: 'int', ptr: false });
      expect(at(SERVICE_SPEC, 'TaskTemplate.Placement.Preferences.[].Spread.SpreadDescriptor')).to.deep.equal({ kind: 'string', ptr: false });
      expect(at(SERVICE_SPEC, 'Mode.Replicated.Replicas')).to.deep.equal({ kind: 'uint', ptr: true });
      expect(at(SERVICE_SPEC, 'RollbackConfig.MaxFailureRatio')).to.deep.equal({ kind: 'float', ptr: false });
      expect(at(SERVICE_SPEC, 'EndpointSpec.Ports.[].PublishedPort')).to.deep.equal({ kind: 'uint', ptr: false });
      expect(at(SERVICE_SPEC, 'Networks.[].Target')).to.deep.equal({ kind: 'string', ptr: false });
    });

    it('describes the swarm spec with its embedded annotations', () => {
      expect(at(SWARM_SPEC, 'Name')).to.deep.equal({ kind: 'string', ptr: false });
      expect(at(SWARM_SPEC, 'CAConfig.ExternalCAs.[]')).to.include({ kind: 'struct', ptr: true });
      expect(at(SWARM_SPEC, 'Raft.KeepOldSnapshots')).to.deep.equal({ kind: 'uint', ptr: true });
    });

    it('describes plugin privileges and auth', () => {
      expect(at(PLUGIN_PRIVILEGES, '[].Value.[]')).to.deep.equal({ kind: 'string', ptr: false });
      expect(Object.keys(AUTH_CONFIG.fields)).to.include.members(['username', 'password', 'serveraddress', 'identitytoken']);
    });
  });

  describe('REQUEST_BODIES', () => {
    it('covers the actions that decode a JSON body', () => {
      expect(Object.keys(REQUEST_BODIES)).to.include.members([
        'containersCreate', 'containersUpdate', 'containersStart', 'imagesCommit', 'execCreate', 'execStart',
        'networksCreate', 'networksConnect', 'networksDisconnect', 'volumesCreate', 'volumesUpdate',
        'swarmInit', 'swarmJoin', 'swarmUpdate', 'swarmUnlock', 'nodesUpdate', 'servicesCreate', 'servicesUpdate',
        'secretsCreate', 'secretsUpdate', 'configsCreate', 'configsUpdate', 'pluginsInstall', 'pluginsUpgrade', 'pluginsSet', 'auth',
      ]);
    });

    it('uses the container wrapper exactly for create, commit and the legacy start', () => {
      const wrapped = Object.entries(REQUEST_BODIES).filter(([, spec]) => spec.decoder === 'container-wrapper').map(([action]) => action);
      expect(wrapped.sort()).to.deep.equal(['containersCreate', 'containersStart', 'imagesCommit']);
      expect(REQUEST_BODIES['containersStart']?.type).to.equal(HOST_CONFIG);
      expect(REQUEST_BODIES['containersCreate']?.type).to.equal(CONTAINER_CONFIG);
    });

    it('keeps the lenient answer across versions', () => {
      expect(REQUEST_BODIES['containersCreate']).to.include({ emptyBody: 'rejected', checksContentType: true });
      expect(REQUEST_BODIES['swarmInit']).to.include({ emptyBody: 'accepted', checksContentType: false });
      expect(REQUEST_BODIES['auth']).to.include({ emptyBody: 'rejected', checksContentType: false });
    });
  });
});
