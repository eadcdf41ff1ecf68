import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { DockerError } from '../../../../src/docker/client';
import { IMAGE_TRUST_SOURCE, trustSourceVerdict, verifyChecks, type GateDeps, type GateOutcome } from '../../../../src/policies/image-trust/gate';
import { keyFingerprint, type SigningKey } from '../../../../src/policies/image-trust/keys';
import type { ImageTrustSettings } from '../../../../src/policies/image-trust/settings';
import type { TrustCheck } from '../../../../src/policies/image-trust/targets';
import type { ImageTrustVerifier, LocalVerdict, TrustVerdict } from '../../../../src/policies/image-trust/verifier';
import type { ContainerParams } from '../../../../src/rules/api';

const trusted = (image: string): TrustVerdict => ({ trusted: true, image, registry: '127.0.0.1:5000' });
const untrusted = (image: string, reason: string): TrustVerdict => ({ trusted: false, image, reason });

describe('image trust: the gate as a policy source (trustSourceVerdict)', () => {
  type Row = [what: string, outcome: GateOutcome, verdict: ReturnType<typeof trustSourceVerdict>];
  const rows: Row[] = [
    ['no verdicts: no opinion', { verdicts: [] }, undefined],
    ['every verdict trusts: allow', { verdicts: [trusted('a'), trusted('b')] }, { source: IMAGE_TRUST_SOURCE, allow: true, reasons: [] }],
    ['one untrusted among trusted: deny with its reason', { verdicts: [trusted('a'), untrusted('b', 'b is from registry evil.example.com')] }, { source: IMAGE_TRUST_SOURCE, allow: false, reasons: ['image trust: b is from registry evil.example.com'] }],
    ['the same reason twice: named once', { verdicts: [untrusted('a', 'r1'), untrusted('a', 'r1'), untrusted('c', 'r2')] }, { source: IMAGE_TRUST_SOURCE, allow: false, reasons: ['image trust: r1', 'image trust: r2'] }],
    ['an untrusted verdict without a reason still says so', { verdicts: [{ trusted: false, image: 'x' }] }, { source: IMAGE_TRUST_SOURCE, allow: false, reasons: ['image trust: not trusted'] }],
  ];
  for (const [what, outcome, verdict] of rows) {
    it(what, () => {
      expect(trustSourceVerdict(outcome)).to.deep.equal(verdict);
    });
  }
});

interface Calls {
  local: string[];
  remote: string[];
  target: string[];
  containerImage: Array<[string, string]>;
  inspect: string[];
}

const SETTINGS: ImageTrustSettings = { registries: ['127.0.0.1:5000'], keys: [], allowLocalBuilds: false, timeoutMs: 1000, cacheTtlMs: 60_000 };

/** A verifier that answers from a script and records what it was asked, so the gate's routing is what is tested. */
function gate(options: { allowLocalBuilds?: boolean; keys?: SigningKey[]; local?: (image: string) => LocalVerdict; inspect?: (id: string) => ContainerParams } = {}): { deps: GateDeps; calls: Calls } {
  const calls: Calls = { local: [], remote: [], target: [], containerImage: [], inspect: [] };
  const verifier = {
    settings: { ...SETTINGS, allowLocalBuilds: options.allowLocalBuilds ?? false, keys: options.keys ?? [] },
    local: async (image: string): Promise<LocalVerdict> => {
      calls.local.push(image);
      return (options.local ?? trusted)(image);
    },
    remote: async (image: string): Promise<TrustVerdict> => {
      calls.remote.push(image);
      return trusted(image);
    },
    target: (image: string): TrustVerdict => {
      calls.target.push(image);
      return trusted(image);
    },
    containerImage: async (imageId: string, configImage: string): Promise<TrustVerdict> => {
      calls.containerImage.push([imageId, configImage]);
      return trusted(configImage);
    },
  };
  const docker = {
    inspect: async (id: string): Promise<ContainerParams> => {
      calls.inspect.push(id);
      return (options.inspect ?? ((): ContainerParams => ({ Image: `sha256:${'1'.repeat(64)}`, Config: { Image: '127.0.0.1:5000/app:1' } })))(id);
    },
  };
  return { deps: { verifier: verifier as unknown as ImageTrustVerifier, docker }, calls };
}

describe('image trust: verifying the checks of one request (verifyChecks)', () => {
  it('a local build is allowed when IMAGE_TRUST_ALLOW_LOCAL_BUILDS is on: no verdict', async () => {
    const { deps } = gate({ allowLocalBuilds: true });
    expect(await verifyChecks(deps, [{ kind: 'local-build', what: 'build' }])).to.deep.equal({ verdicts: [] });
  });

  it('a local build is untrusted when IMAGE_TRUST_ALLOW_LOCAL_BUILDS is off, naming what and the setting', async () => {
    const { deps } = gate({ allowLocalBuilds: false });
    const { verdicts } = await verifyChecks(deps, [{ kind: 'local-build', what: 'load' }]);
    expect(verdicts).to.have.length(1);
    expect(verdicts[0]!.trusted).to.equal(false);
    expect(verdicts[0]!.unavailable).to.equal(undefined);
    expect(verdicts[0]!.reason).to.equal('load makes an image no registry vouches for (IMAGE_TRUST_ALLOW_LOCAL_BUILDS=False)');
  });

  it('a create without an image: no verdict, nothing asked (dockerd refuses the create itself)', async () => {
    const { deps, calls } = gate();
    expect(await verifyChecks(deps, [{ kind: 'run', image: '' }])).to.deep.equal({ verdicts: [] });
    expect(calls.local).to.deep.equal([]);
  });

  it('a create of an image not on this host: no verdict (dockerd answers "no such image")', async () => {
    const { deps, calls } = gate({ local: () => 'absent' });
    expect(await verifyChecks(deps, [{ kind: 'run', image: '127.0.0.1:5000/app:1' }])).to.deep.equal({ verdicts: [] });
    expect(calls.local).to.deep.equal(['127.0.0.1:5000/app:1']);
  });

  it('a create of a local image: its verdict is also the run verdict container rules see', async () => {
    const { deps } = gate({ local: (image) => untrusted(image, 'unsigned') });
    const outcome = await verifyChecks(deps, [{ kind: 'run', image: 'app' }]);
    expect(outcome.verdicts).to.deep.equal([untrusted('app', 'unsigned')]);
    expect(outcome.runVerdict).to.deep.equal(untrusted('app', 'unsigned'));
  });

  it('a start verifies the image id the container was created from, not its name', async () => {
    const { deps, calls } = gate();
    const { verdicts } = await verifyChecks(deps, [{ kind: 'start', container: 'web' }]);
    expect(calls.inspect).to.deep.equal(['web']);
    expect(calls.containerImage).to.deep.equal([[`sha256:${'1'.repeat(64)}`, '127.0.0.1:5000/app:1']]);
    expect(verdicts).to.deep.equal([trusted('127.0.0.1:5000/app:1')]);
  });

  it('a start of a container that does not exist: no verdict (dockerd answers 404 itself)', async () => {
    const { deps, calls } = gate({
      inspect: () => {
        throw new DockerError('inspect', 'no such container', 404);
      },
    });
    expect(await verifyChecks(deps, [{ kind: 'start', container: 'gone' }])).to.deep.equal({ verdicts: [] });
    expect(calls.containerImage).to.deep.equal([]);
  });

  for (const [what, error] of [
    ['a Docker error other than 404', new DockerError('inspect', 'timed out', undefined)],
    ['a 500 from dockerd', new DockerError('inspect', 'server error', 500)],
    ['any other error', new Error('socket hang up')],
  ] as const) {
    it(`a start whose inspect fails with ${what}: an unavailable verdict naming the container`, async () => {
      const { deps, calls } = gate({
        inspect: () => {
          throw error;
        },
      });
      const { verdicts } = await verifyChecks(deps, [{ kind: 'start', container: 'web' }]);
      expect(verdicts).to.have.length(1);
      expect(verdicts[0]).to.include({ trusted: false, unavailable: true });
      expect(verdicts[0]!.reason).to.match(/^cannot inspect container "web": /).and.include(error.message);
      expect(calls.containerImage).to.deep.equal([]);
    });
  }

  it('a verifier that throws: an unavailable verdict, never an exception', async () => {
    const { deps } = gate({
      local: () => {
        throw new Error('boom');
      },
    });
    const { verdicts } = await verifyChecks(deps, [{ kind: 'run', image: 'app' }]);
    expect(verdicts).to.deep.equal([{ trusted: false, image: 'app', reason: 'verification failed: boom', unavailable: true }]);
  });

  it('a pull that names no image is untrusted without asking the registry', async () => {
    const { deps, calls } = gate();
    const { verdicts } = await verifyChecks(deps, [{ kind: 'pull', image: '', what: 'plugin install' }]);
    expect(verdicts).to.deep.equal([{ trusted: false, image: '', reason: 'plugin install names no image' }]);
    expect(calls.remote).to.deep.equal([]);
  });

  it('a pull of one tag or digest asks the registry; a target only checks the name', async () => {
    const { deps, calls } = gate();
    const checks: TrustCheck[] = [
      { kind: 'pull', image: '127.0.0.1:5000/app:1', what: 'pull' },
      { kind: 'target', image: '127.0.0.1:5000/app:2', what: 'tag' },
    ];
    const outcome = await verifyChecks(deps, checks);
    expect(calls.remote).to.deep.equal(['127.0.0.1:5000/app:1']);
    expect(calls.target).to.deep.equal(['127.0.0.1:5000/app:2']);
    expect(outcome.verdicts).to.have.length(2);
    expect(outcome.runVerdict).to.equal(undefined);
  });

  it('a pull of every tag is untrusted when signatures are required, trusted by registry alone otherwise', async () => {
    const unsigned = gate();
    expect((await verifyChecks(unsigned.deps, [{ kind: 'pull', image: '127.0.0.1:5000/app', what: 'pull', allTags: true }])).verdicts).to.deep.equal([trusted('127.0.0.1:5000/app')]);
    expect(unsigned.calls.remote).to.deep.equal([]);

    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const signed = gate({ keys: [{ file: 'cosign.pub', fingerprint: keyFingerprint(publicKey), key: publicKey }] });
    const { verdicts } = await verifyChecks(signed.deps, [{ kind: 'pull', image: '127.0.0.1:5000/app', what: 'pull', allTags: true }]);
    expect(verdicts).to.have.length(1);
    expect(verdicts[0]!.trusted).to.equal(false);
    expect(verdicts[0]!.reason).to.equal('pulling every tag of 127.0.0.1:5000/app cannot be verified; pull a tag or a digest');
  });
});
