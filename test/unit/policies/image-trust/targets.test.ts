import { expect } from 'chai';
import { parseEnvelope } from '../../../../src/facts/envelope';
import { requestFacts, type RequestFacts } from '../../../../src/facts/request';
import { trustChecks, withTag, type TrustCheck } from '../../../../src/policies/image-trust/targets';

/** Facts built the way the AuthZ path builds them: an envelope as dockerd posts it, read by requestFacts. */
function factsOf(method: string, uri: string, body?: unknown): RequestFacts {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const envelope = parseEnvelope(
    Buffer.from(
      JSON.stringify({
        User: 'alice',
        UserAuthNMethod: '',
        RequestMethod: method,
        RequestUri: uri,
        RequestHeaders: text === undefined ? { 'Content-Length': '0' } : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) },
        ...(text === undefined ? {} : { RequestBody: Buffer.from(text).toString('base64') }),
      }),
    ),
  );
  if (!envelope.ok) throw new Error(envelope.problem);
  const facts = requestFacts(envelope.value);
  // A case that does not read cleanly would test the reader, not the checks.
  expect(facts.unreadable, `${method} ${uri}`).to.deep.equal([]);
  return facts;
}

const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;

describe('image trust: the images a request names (trustChecks)', () => {
  type Row = [what: string, method: string, uri: string, body: unknown, checks: TrustCheck[]];
  const rows: Row[] = [
    ['pull with fromImage and tag', 'POST', '/v1.41/images/create?fromImage=127.0.0.1:5000/app&tag=1.0', undefined, [{ kind: 'pull', image: '127.0.0.1:5000/app:1.0', what: 'pull' }]],
    ['pull with the tag inside fromImage', 'POST', '/v1.41/images/create?fromImage=busybox:1.36', undefined, [{ kind: 'pull', image: 'busybox:1.36', what: 'pull' }]],
    ['pull with a digest inside fromImage', 'POST', `/v1.41/images/create?fromImage=busybox@${DIGEST_A}`, undefined, [{ kind: 'pull', image: `busybox@${DIGEST_A}`, what: 'pull' }]],
    ['pull whose tag is a digest', 'POST', `/v1.41/images/create?fromImage=busybox&tag=${DIGEST_A}`, undefined, [{ kind: 'pull', image: `busybox@${DIGEST_A}`, what: 'pull' }]],
    // moby: reference.WithDigest(reference.TrimNamed(ref), dgst): the tag parameter's digest replaces the name's.
    ['pull whose tag is a digest and whose name has another', 'POST', `/v1.41/images/create?fromImage=busybox@${DIGEST_B}&tag=${DIGEST_A}`, undefined, [{ kind: 'pull', image: `busybox@${DIGEST_A}`, what: 'pull' }]],
    // moby: reference.WithTag replaces the name's tag; the tag parameter is what dockerd pulls.
    ['pull with a tag both inside fromImage and in tag', 'POST', '/v1.41/images/create?fromImage=127.0.0.1:5000/app:old&tag=new', undefined, [{ kind: 'pull', image: '127.0.0.1:5000/app:new', what: 'pull' }]],
    // `docker pull -a` of old clients: dockerd trims one trailing ':' and pulls every tag.
    ['pull of a name with a trailing colon: every tag', 'POST', '/v1.41/images/create?fromImage=127.0.0.1:5000/app:', undefined, [{ kind: 'pull', image: '127.0.0.1:5000/app', what: 'pull', allTags: true }]],
    ['pull without any tag: every tag', 'POST', '/v1.41/images/create?fromImage=busybox', undefined, [{ kind: 'pull', image: 'busybox', what: 'pull', allTags: true }]],
    ['pull from a registry with a port and no tag: every tag', 'POST', '/v1.41/images/create?fromImage=127.0.0.1:5000/app', undefined, [{ kind: 'pull', image: '127.0.0.1:5000/app', what: 'pull', allTags: true }]],
    ['import from a source into a repository', 'POST', '/v1.41/images/create?fromSrc=-&repo=127.0.0.1:5000/app&tag=2', undefined, [
      { kind: 'local-build', what: 'import' },
      { kind: 'target', image: '127.0.0.1:5000/app:2', what: 'import' },
    ]],
    ['import without a repository', 'POST', '/v1.41/images/create?fromSrc=-', undefined, [{ kind: 'local-build', what: 'import' }]],
    ['create', 'POST', '/v1.41/containers/create?name=web', { Image: 'busybox:1.36' }, [{ kind: 'run', image: 'busybox:1.36' }]],
    // dockerd decodes JSON keys case-insensitively: a lower-case key names the same image.
    ['create with a lower-case "image" key', 'POST', '/v1.41/containers/create', { image: 'evil.example.com/app' }, [{ kind: 'run', image: 'evil.example.com/app' }]],
    ['create without an image', 'POST', '/v1.41/containers/create', { Cmd: ['true'] }, [{ kind: 'run', image: '' }]],
    ['start', 'POST', '/v1.41/containers/web/start', undefined, [{ kind: 'start', container: 'web' }]],
    ['restart', 'POST', '/v1.41/containers/web/restart', undefined, [{ kind: 'start', container: 'web' }]],
    ['unpause', 'POST', '/v1.41/containers/web/unpause', undefined, [{ kind: 'start', container: 'web' }]],
    ['service create', 'POST', '/v1.41/services/create', { Name: 's', TaskTemplate: { ContainerSpec: { Image: 'nginx:1' } } }, [{ kind: 'pull', image: 'nginx:1', what: 'service create' }]],
    ['service create, lower-case keys', 'POST', '/v1.41/services/create', { taskTemplate: { containerSpec: { image: 'nginx:1' } } }, [{ kind: 'pull', image: 'nginx:1', what: 'service create' }]],
    ['service update', 'POST', '/v1.41/services/s/update?version=3', { TaskTemplate: { ContainerSpec: { Image: `nginx@${DIGEST_A}` } } }, [{ kind: 'pull', image: `nginx@${DIGEST_A}`, what: 'service update' }]],
    ['service with the plugin runtime', 'POST', '/v1.41/services/create', { Name: 'p', TaskTemplate: { PluginSpec: { Name: 'sshfs', Remote: 'vieux/sshfs:latest' } } }, [{ kind: 'pull', image: 'vieux/sshfs:latest', what: 'service create' }]],
    ['service update that names no image', 'POST', '/v1.41/services/s/update?version=3', { Name: 's' }, []],
    ['plugin install', 'POST', '/v1.41/plugins/pull?remote=vieux/sshfs:latest&name=sshfs', [], [{ kind: 'pull', image: 'vieux/sshfs:latest', what: 'plugin install' }]],
    ['plugin upgrade', 'POST', '/v1.41/plugins/sshfs/upgrade?remote=127.0.0.1:5000/sshfs:next', [], [{ kind: 'pull', image: '127.0.0.1:5000/sshfs:next', what: 'plugin upgrade' }]],
    ['plugin create', 'POST', '/v1.41/plugins/create?name=mine', undefined, [{ kind: 'local-build', what: 'plugin create' }]],
    ['push with a tag', 'POST', '/v1.41/images/127.0.0.1:5000/app/push?tag=1', undefined, [{ kind: 'target', image: '127.0.0.1:5000/app:1', what: 'push' }]],
    ['push without a tag', 'POST', '/v1.41/images/evil.example.com/app/push', undefined, [{ kind: 'target', image: 'evil.example.com/app', what: 'push' }]],
    ['tag', 'POST', `/v1.41/images/${'c'.repeat(64)}/tag?repo=127.0.0.1:5000/app&tag=v2`, undefined, [{ kind: 'target', image: '127.0.0.1:5000/app:v2', what: 'tag' }]],
    ['commit into a repository', 'POST', '/v1.41/commit?container=web&repo=127.0.0.1:5000/app&tag=3', {}, [
      { kind: 'local-build', what: 'commit' },
      { kind: 'target', image: '127.0.0.1:5000/app:3', what: 'commit' },
    ]],
    ['commit without a repository', 'POST', '/v1.41/commit?container=web', {}, [{ kind: 'local-build', what: 'commit' }]],
    // dockerd tags the build with every `t`; an empty one names nothing.
    ['build with several t', 'POST', '/v1.41/build?t=a:1&t=127.0.0.1:5000/b:2&t=&t=evil.example.com/c', undefined, [
      { kind: 'local-build', what: 'build' },
      { kind: 'target', image: 'a:1', what: 'build' },
      { kind: 'target', image: '127.0.0.1:5000/b:2', what: 'build' },
      { kind: 'target', image: 'evil.example.com/c', what: 'build' },
    ]],
    ['load', 'POST', '/v1.41/images/load?quiet=1', undefined, [{ kind: 'local-build', what: 'load' }]],
    ['an unrelated action', 'GET', '/v1.41/containers/json?all=1', undefined, []],
    ['an image inspect', 'GET', '/v1.41/images/busybox/json', undefined, []],
  ];
  for (const [what, method, uri, body, checks] of rows) {
    it(what, () => {
      expect(trustChecks(factsOf(method, uri, body))).to.deep.equal(checks);
    });
  }
});

describe('image trust: joining a repository and a tag parameter (withTag)', () => {
  const rows: Array<[name: string, tag: string, joined: string]> = [
    ['busybox', '', 'busybox'],
    ['busybox', '1.36', 'busybox:1.36'],
    ['127.0.0.1:5000/app', 'v1', '127.0.0.1:5000/app:v1'],
    ['busybox', DIGEST_A, `busybox@${DIGEST_A}`],
    [`busybox@${DIGEST_B}`, DIGEST_A, `busybox@${DIGEST_A}`],
    [`busybox:1@${DIGEST_B}`, DIGEST_A, `busybox@${DIGEST_A}`],
    // A tag replaces the name's tag (reference.WithTag) and keeps its digest, which is what is pulled.
    ['busybox:1.36', 'latest', 'busybox:latest'],
    ['127.0.0.1:5000/app:old', 'new', '127.0.0.1:5000/app:new'],
    [`busybox@${DIGEST_B}`, '1', `busybox:1@${DIGEST_B}`],
    [`busybox:0@${DIGEST_B}`, '1', `busybox:1@${DIGEST_B}`],
    // One component with a colon is a name and a tag, not a host and a port.
    ['localhost:5000', 'v1', 'localhost:v1'],
  ];
  for (const [name, tag, joined] of rows) {
    it(`${JSON.stringify(name)} + ${JSON.stringify(tag)} -> ${joined}`, () => {
      expect(withTag(name, tag)).to.equal(joined);
    });
  }
});
