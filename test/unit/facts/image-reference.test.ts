import { expect } from 'chai';
import { isImageId, normaliseRegistryHost, parseImageReference, type ImageReference } from '../../../src/facts/image-reference';

const HEX = 'a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';
const DIGEST = `sha256:${HEX}`;

type Expected = Omit<ImageReference, 'repository' | 'canonical'> & { canonical: string };

/** Ok rows: input -> the fields dockerd would see (repository is always registry/path). */
const parses: Array<[input: string, expected: Expected]> = [
  ['busybox', { registry: 'docker.io', path: 'library/busybox', tag: 'latest', canonical: 'docker.io/library/busybox:latest' }],
  ['busybox:1.36', { registry: 'docker.io', path: 'library/busybox', tag: '1.36', canonical: 'docker.io/library/busybox:1.36' }],
  ['library/busybox', { registry: 'docker.io', path: 'library/busybox', tag: 'latest', canonical: 'docker.io/library/busybox:latest' }],
  ['docker.io/busybox', { registry: 'docker.io', path: 'library/busybox', tag: 'latest', canonical: 'docker.io/library/busybox:latest' }],
  ['docker.io/library/busybox:latest', { registry: 'docker.io', path: 'library/busybox', tag: 'latest', canonical: 'docker.io/library/busybox:latest' }],
  ['index.docker.io/library/busybox', { registry: 'docker.io', path: 'library/busybox', tag: 'latest', canonical: 'docker.io/library/busybox:latest' }],
  ['index.docker.io/busybox', { registry: 'docker.io', path: 'library/busybox', tag: 'latest', canonical: 'docker.io/library/busybox:latest' }],
  ['registry-1.docker.io/library/busybox', { registry: 'docker.io', path: 'library/busybox', tag: 'latest', canonical: 'docker.io/library/busybox:latest' }],
  ['registry-1.docker.io/busybox', { registry: 'docker.io', path: 'library/busybox', tag: 'latest', canonical: 'docker.io/library/busybox:latest' }],
  // A lowercase first component without '.' or ':' is a Docker Hub namespace, not a registry.
  ['user/app', { registry: 'docker.io', path: 'user/app', tag: 'latest', canonical: 'docker.io/user/app:latest' }],
  ['a/b/c', { registry: 'docker.io', path: 'a/b/c', tag: 'latest', canonical: 'docker.io/a/b/c:latest' }],
  ['localhost/app', { registry: 'localhost', path: 'app', tag: 'latest', canonical: 'localhost/app:latest' }],
  ['localhost:5000/app:1.0', { registry: 'localhost:5000', path: 'app', tag: '1.0', canonical: 'localhost:5000/app:1.0' }],
  // Without a '/', 'localhost:5000' is Docker Hub's library/localhost with tag 5000, as in Docker.
  ['localhost:5000', { registry: 'docker.io', path: 'library/localhost', tag: '5000', canonical: 'docker.io/library/localhost:5000' }],
  ['127.0.0.1:5000/app', { registry: '127.0.0.1:5000', path: 'app', tag: 'latest', canonical: '127.0.0.1:5000/app:latest' }],
  [
    `127.0.0.1:5000/team/app:1.0@${DIGEST}`,
    { registry: '127.0.0.1:5000', path: 'team/app', tag: '1.0', digest: DIGEST, canonical: `127.0.0.1:5000/team/app:1.0@${DIGEST}` },
  ],
  ['registry.example.com/ops/app', { registry: 'registry.example.com', path: 'ops/app', tag: 'latest', canonical: 'registry.example.com/ops/app:latest' }],
  // Only the Hub gets 'library/'.
  ['registry.example.com/app', { registry: 'registry.example.com', path: 'app', tag: 'latest', canonical: 'registry.example.com/app:latest' }],
  // Upper case cannot be a namespace, so Docker takes it for a registry host (and keeps its case).
  ['Foo/bar', { registry: 'Foo', path: 'bar', tag: 'latest', canonical: 'Foo/bar:latest' }],
  [`app@${DIGEST}`, { registry: 'docker.io', path: 'library/app', digest: DIGEST, canonical: `docker.io/library/app@${DIGEST}` }],
  ['[::1]:5000/app', { registry: '[::1]:5000', path: 'app', tag: 'latest', canonical: '[::1]:5000/app:latest' }],
  ['[fc00:1:2:3:4:5:6:7]/app', { registry: '[fc00:1:2:3:4:5:6:7]', path: 'app', tag: 'latest', canonical: '[fc00:1:2:3:4:5:6:7]/app:latest' }],
  // Tags may hold upper case; separators '.', '_', '__' and runs of '-' may join path components.
  ['app:V1_x-y.z', { registry: 'docker.io', path: 'library/app', tag: 'V1_x-y.z', canonical: 'docker.io/library/app:V1_x-y.z' }],
  ['dock__er/a.b_c---d', { registry: 'docker.io', path: 'dock__er/a.b_c---d', tag: 'latest', canonical: 'docker.io/dock__er/a.b_c---d:latest' }],
  // A 64-hex path is a name once a registry is in front of it (Docker's own test case).
  [`docker.io/${HEX}`, { registry: 'docker.io', path: `library/${HEX}`, tag: 'latest', canonical: `docker.io/library/${HEX}:latest` }],
  ['sha256', { registry: 'docker.io', path: 'library/sha256', tag: 'latest', canonical: 'docker.io/library/sha256:latest' }],
  // The limit counts the path only: 'library/' + 247 = 255.
  ['a'.repeat(247), { registry: 'docker.io', path: `library/${'a'.repeat(247)}`, tag: 'latest', canonical: `docker.io/library/${'a'.repeat(247)}:latest` }],
];

/** Problem rows: input -> a piece of the problem text. */
const problems: Array<[input: string, problem: string]> = [
  ['', 'at least one component'],
  [HEX, 'image id'],
  ['foo/Bar', 'must be lowercase'],
  ['BUSYBOX', 'must be lowercase'],
  ['registry.example.com/Ops/app', 'must be lowercase'],
  ['app@sha256:XYZ', 'not algorithm:hex'],
  [`app@sha256:${HEX.slice(1)}`, 'sha256: followed by 64 lowercase hex'],
  [`app@sha256:${HEX.toUpperCase()}`, 'sha256: followed by 64 lowercase hex'],
  [`app@sha512:${HEX}${HEX}`, 'sha256: followed by 64 lowercase hex'],
  [`app@${DIGEST}@${DIGEST}`, 'not algorithm:hex'],
  ['a'.repeat(256), 'not be more than 255'],
  ['a'.repeat(248), 'not be more than 255'],
  [`example.com/${'a'.repeat(256)}`, 'not be more than 255'],
  ['busybox:', 'tag ""'],
  ['localhost:5000/app:', 'tag ""'],
  ['busybox:1:2', 'tag "1:2"'],
  [`busybox:${'t'.repeat(129)}`, 'tag'],
  ['busybox:-x', 'tag "-x"'],
  ['https://registry.example.com/app', '"https:" is not a registry host'],
  ['docker///docker', 'not lowercase components'],
  ['-docker/docker', 'not lowercase components'],
  ['docker-/docker', 'not lowercase components'],
  ['dock..er/docker', 'not a registry host'],
  ['____/____', 'not lowercase components'],
  ['docker/', 'not lowercase components'],
  ['-docker.io/docker/docker', 'not a registry host'],
  // Docker accepts this with no registry at all; nothing can pull it, so it is refused.
  ['a.b_c/d', 'not a registry host'],
  ['[fc00::1]', 'not lowercase components'],
  ['[fc00::1]:5000', 'not lowercase components'],
  ['[fe80::1%eth0]:5000/debian', 'not a registry host'],
  ['fc00::1:5000/debian', 'not a registry host'],
  ['busy box', 'not lowercase components'],
];

describe('facts: image references as Docker normalises them', () => {
  for (const [input, expected] of parses) {
    it(`parses ${input.length > 60 ? `${input.slice(0, 40)}… (${input.length})` : input}`, () => {
      const parsed = parseImageReference(input);
      if (!parsed.ok) throw new Error(parsed.problem);
      expect(parsed.ref).to.deep.equal({ ...expected, repository: `${expected.registry}/${expected.path}` });
      // The canonical form is a fixed point: parsing it again gives the same reference.
      const again = parseImageReference(parsed.ref.canonical);
      expect(again.ok && again.ref).to.deep.equal(parsed.ref);
    });
  }

  for (const [input, problem] of problems) {
    it(`refuses ${JSON.stringify(input.length > 60 ? `${input.slice(0, 40)}… (${input.length})` : input)}`, () => {
      const parsed = parseImageReference(input);
      expect(parsed.ok, JSON.stringify(parsed)).to.equal(false);
      if (!parsed.ok) expect(parsed.problem).to.include(problem);
    });
  }

  it('has no tag key when only a digest was given', () => {
    const parsed = parseImageReference(`busybox@${DIGEST}`);
    expect(parsed.ok && Object.keys(parsed.ref)).to.not.include('tag');
  });

  it('stays fast on long hostile names', () => {
    const started = process.hrtime.bigint();
    for (const input of ['a-'.repeat(50_000) + '!', `${'a'.repeat(100_000)}.b_/x`, `x.y/${'a_'.repeat(50_000)}`, `a/b:${'c'.repeat(100_000)}`]) {
      expect(parseImageReference(input).ok).to.equal(false);
    }
    expect(Number(process.hrtime.bigint() - started) / 1e6).to.be.below(200);
  });

  it('recognises full image ids only', () => {
    const table: Array<[string, boolean]> = [
      [DIGEST, true],
      [HEX, true],
      [HEX.slice(0, 12), false],
      [`sha256:${HEX.slice(0, 12)}`, false],
      [HEX.toUpperCase(), false],
      [`sha512:${HEX}`, false],
      [`${HEX}0`, false],
      ['busybox', false],
      ['', false],
    ];
    for (const [input, id] of table) expect(isImageId(input), input).to.equal(id);
  });

  it('normalises registry hosts as written in configuration', () => {
    const table: Array<[input: string, host: string | undefined]> = [
      ['docker.io', 'docker.io'],
      ['index.docker.io', 'docker.io'],
      ['registry-1.docker.io', 'docker.io'],
      ['Registry-1.Docker.IO', 'docker.io'],
      ['registry.example.com', 'registry.example.com'],
      ['Registry.Example.COM:5000', 'registry.example.com:5000'],
      ['localhost', 'localhost'],
      ['localhost:5000', 'localhost:5000'],
      ['127.0.0.1:5000', '127.0.0.1:5000'],
      ['[::1]:5000', '[::1]:5000'],
      ['[FC00::1]', '[fc00::1]'],
      ['docker.io:443', 'docker.io:443'],
      ['host:65535', 'host:65535'],
      ['', undefined],
      ['https://registry.example.com', undefined],
      ['registry.example.com/ops', undefined],
      ['registry.example.com:', undefined],
      ['registry.example.com:abc', undefined],
      ['registry.example.com:0', undefined],
      ['registry.example.com:05000', undefined],
      ['registry.example.com:65536', undefined],
      ['registry.example.com:5000:1', undefined],
      ['-bad.example.com', undefined],
      ['bad_host', undefined],
      [' registry.example.com', undefined],
      ['fc00::1', undefined],
    ];
    for (const [input, host] of table) {
      const result = normaliseRegistryHost(input);
      if (host === undefined) expect(result.ok, input).to.equal(false);
      else expect(result, input).to.deep.equal({ ok: true, host });
    }
    const problem = normaliseRegistryHost('https://r.example');
    expect(!problem.ok && problem.problem).to.include('scheme');
  });

  it('gives a registry that normaliseRegistryHost accepts', () => {
    for (const [input] of parses) {
      const parsed = parseImageReference(input);
      if (!parsed.ok) throw new Error(parsed.problem);
      expect(normaliseRegistryHost(parsed.ref.registry).ok, input).to.equal(true);
    }
  });
});
