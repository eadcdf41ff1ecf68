import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseChallenge, registryBaseUrl, RegistryClient, RegistryError } from '../../../src/registry/client';
import type { RegistryCredentials } from '../../../src/registry/credentials';
import { DOCKER_MANIFEST, MANIFEST_ACCEPT, OCI_INDEX, OCI_MANIFEST } from '../../../src/registry/media-types';

const sha256 = (bytes: Buffer | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const notFound: Handler = (_req, res) => {
  res.statusCode = 404;
  res.end();
};

/** A registry on 127.0.0.1 (the client speaks plain HTTP to loopback), answering with `handler`. */
class LocalRegistry {
  readonly requests: Array<{ url: string; headers: IncomingMessage['headers'] }> = [];
  private server: Server | undefined;
  handler: Handler = notFound;

  async start(): Promise<string> {
    this.handler = notFound;
    this.requests.length = 0;
    this.server = createServer((req, res) => {
      this.requests.push({ url: req.url ?? '', headers: req.headers });
      this.handler(req, res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.host;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  paths(): string[] {
    return this.requests.map((r) => r.url.split('?')[0]!);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function send(res: ServerResponse, status: number, body: Buffer | string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

const signal = (): AbortSignal => AbortSignal.timeout(5000);

async function rejection(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (err: unknown) {
    if (err instanceof RegistryError) return err;
    throw err;
  }
  throw new Error('expected a RegistryError, got an answer');
}

const manifestBody = (mediaType: string, extra: Record<string, unknown> = {}): Buffer =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256('config'), size: 6 }, layers: [], ...extra }));

describe('registry client: where a registry lives (registryBaseUrl)', () => {
  const rows: Array<[registry: string, url: string]> = [
    ['docker.io', 'https://registry-1.docker.io'],
    ['127.0.0.5:5000', 'http://127.0.0.5:5000'],
    ['127.0.0.1', 'http://127.0.0.1'],
    ['localhost:5000', 'http://localhost:5000'],
    ['[::1]:5000', 'http://[::1]:5000'],
    ['registry.example.com', 'https://registry.example.com'],
    ['registry.example.com:5000', 'https://registry.example.com:5000'],
    ['10.0.0.1:5000', 'https://10.0.0.1:5000'],
    // Not loopback though it starts like it: a host name under the attacker's control.
    ['127.0.0.1.example.com', 'https://127.0.0.1.example.com'],
    ['localhost.example.com:5000', 'https://localhost.example.com:5000'],
  ];
  for (const [registry, url] of rows) {
    it(`${registry} -> ${url}`, () => {
      expect(registryBaseUrl(registry)).to.equal(url);
    });
  }
});

describe('registry client: WWW-Authenticate challenges (parseChallenge)', () => {
  const rows: Array<[header: string, scheme: string, params: Record<string, string>]> = [
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      'bearer',
      { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    ],
    ['Basic realm="Registry Realm"', 'basic', { realm: 'Registry Realm' }],
    ['BEARER Realm="http://127.0.0.1/token", Service=test', 'bearer', { realm: 'http://127.0.0.1/token', service: 'test' }],
    // A comma inside quotes belongs to the value: a scope with two actions.
    ['Bearer realm="r",scope="repository:app:pull,push"', 'bearer', { realm: 'r', scope: 'repository:app:pull,push' }],
    ['Bearer realm="a\\"b"', 'bearer', { realm: 'a"b' }],
    ['Bearer', 'bearer', {}],
    ['', '', {}],
  ];
  for (const [header, scheme, params] of rows) {
    it(`${JSON.stringify(header)} -> ${scheme || '(none)'}`, () => {
      expect(parseChallenge(header)).to.deep.equal({ scheme, params });
    });
  }
});

describe('registry client against a registry on 127.0.0.1 (RegistryClient)', () => {
  const registry = new LocalRegistry();
  let host = '';

  beforeEach(async () => {
    host = await registry.start();
  });

  afterEach(async () => {
    await registry.stop();
  });

  it('fetches a manifest by tag with all four Accept types; its digest is sha256 of the body', async () => {
    const body = manifestBody(OCI_MANIFEST);
    registry.handler = (req, res) => (req.url === '/v2/team/app/manifests/1.0' ? send(res, 200, body, { 'Content-Type': OCI_MANIFEST, 'Docker-Content-Digest': sha256(body) }) : send(res, 404, ''));
    const manifest = await new RegistryClient().manifest(host, 'team/app', '1.0', signal());
    expect(manifest).to.not.equal(undefined);
    expect(manifest!.digest).to.equal(sha256(body));
    expect(manifest!.mediaType).to.equal(OCI_MANIFEST);
    expect(manifest!.config?.digest).to.equal(sha256('config'));
    expect(Buffer.compare(manifest!.bytes, body)).to.equal(0);
    expect(registry.requests[0]!.headers['accept']).to.equal(MANIFEST_ACCEPT);
  });

  it('takes the media type from Content-Type when the body does not name one', async () => {
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'x', digest: sha256('c'), size: 1 }, layers: [] }));
    registry.handler = (_req, res) => send(res, 200, body, { 'Content-Type': `${DOCKER_MANIFEST}; charset=utf-8` });
    expect((await new RegistryClient().manifest(host, 'app', 'v1', signal()))!.mediaType).to.equal(DOCKER_MANIFEST);
  });

  it("refuses a manifest by tag whose body is not the Docker-Content-Digest the registry names", async () => {
    const body = manifestBody(OCI_MANIFEST);
    registry.handler = (_req, res) => send(res, 200, body, { 'Content-Type': OCI_MANIFEST, 'Docker-Content-Digest': sha256('something else') });
    const err = await rejection(new RegistryClient().manifest(host, 'app', 'v1', signal()));
    expect(err.problem).to.equal('invalid');
    expect(err.registry).to.equal(host);
    expect(err.message).to.include(sha256(body)).and.include(sha256('something else'));
  });

  it('refuses a manifest by digest whose body does not hash to that digest', async () => {
    const asked = sha256('the manifest that was signed');
    registry.handler = (_req, res) => send(res, 200, manifestBody(OCI_MANIFEST), { 'Content-Type': OCI_MANIFEST });
    const err = await rejection(new RegistryClient().manifest(host, 'app', asked, signal()));
    expect(err.problem).to.equal('invalid');
    expect(err.message).to.include(asked);
  });

  it('accepts a manifest by digest whose body hashes to it', async () => {
    const body = manifestBody(OCI_INDEX, { manifests: [{ mediaType: OCI_MANIFEST, digest: sha256('child'), size: 10, platform: { os: 'linux', architecture: 'amd64' } }] });
    registry.handler = (_req, res) => send(res, 200, body, { 'Content-Type': OCI_INDEX });
    const manifest = await new RegistryClient().manifest(host, 'app', sha256(body), signal());
    expect(manifest!.manifests.map((m) => m.digest)).to.deep.equal([sha256('child')]);
  });

  it('refuses a schema1 manifest (its digest is not the one dockerd pulled)', async () => {
    const body = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'app', tag: 'v1', fsLayers: [] }));
    registry.handler = (_req, res) => send(res, 200, body, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
    const err = await rejection(new RegistryClient().manifest(host, 'app', 'v1', signal()));
    expect(err.problem).to.equal('invalid');
    expect(err.message).to.include('application/vnd.docker.distribution.manifest.v1+prettyjws');
  });

  it('answers undefined for a manifest the registry does not have (404)', async () => {
    expect(await new RegistryClient().manifest(host, 'app', 'missing', signal())).to.equal(undefined);
    expect(registry.paths()).to.deep.equal(['/v2/app/manifests/missing']);
  });

  it('reports another HTTP status as a fault naming it', async () => {
    registry.handler = (_req, res) => send(res, 500, 'oops');
    const err = await rejection(new RegistryClient().manifest(host, 'app', 'v1', signal()));
    expect(err.problem).to.equal('http');
    expect(err.message).to.include('HTTP 500');
  });

  it('fetches a blob that matches its digest, and refuses one that does not', async () => {
    const payload = Buffer.from('{"critical":{}}');
    const wrong = sha256('not the payload');
    registry.handler = (_req, res) => send(res, 200, payload);
    expect(Buffer.compare(await new RegistryClient().blob(host, 'app', sha256(payload), 1024, signal()), payload)).to.equal(0);
    const err = await rejection(new RegistryClient().blob(host, 'app', wrong, 1024, signal()));
    expect(err.problem).to.equal('invalid');
    expect(err.message).to.include(wrong);
  });

  it('refuses a blob over maxBytes, whether announced by Content-Length or streamed', async () => {
    const big = Buffer.alloc(4096, 'x');
    registry.handler = (_req, res) => send(res, 200, big);
    const announced = await rejection(new RegistryClient().blob(host, 'app', sha256(big), 1000, signal()));
    expect(announced.problem).to.equal('invalid');
    expect(announced.message).to.include('4096 bytes where at most 1000');

    registry.handler = (_req, res) => {
      // No Content-Length: chunked, so only counting what arrives can stop it.
      res.writeHead(200);
      res.write(big);
      res.end(big);
    };
    const streamed = await rejection(new RegistryClient().blob(host, 'app', sha256(Buffer.concat([big, big])), 1000, signal()));
    expect(streamed.problem).to.equal('invalid');
    expect(streamed.message).to.include('more than the 1000 bytes');
  });

  it('refuses a blob digest that is not sha256 without asking', async () => {
    const err = await rejection(new RegistryClient().blob(host, 'app', '../../etc/passwd', 1024, signal()));
    expect(err.problem).to.equal('invalid');
    expect(registry.requests).to.deep.equal([]);
  });

  it("gives up on a registry that never answers when the caller's deadline passes, and drops that connection", async () => {
    let hanging: Socket | undefined;
    registry.handler = (req) => {
      // Never answers.
      hanging = req.socket;
    };
    const started = Date.now();
    const err = await rejection(new RegistryClient().manifest(host, 'app', 'v1', AbortSignal.timeout(200)));
    expect(err.problem).to.equal('timeout');
    expect(err.registry).to.equal(host);
    expect(Date.now() - started).to.be.lessThan(1500);
    expect(registry.requests).to.have.length(1);
    // The abandoned request must not hold its connection open on the registry.
    const socket = hanging!;
    const closed = socket.destroyed || (await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    }));
    expect(closed).to.equal(true);
  });

  it('gives up on a registry that stops sending halfway through a body', async () => {
    registry.handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': OCI_MANIFEST, 'Content-Length': '1000' });
      res.write('{"schemaVersion":');
    };
    const err = await rejection(new RegistryClient().manifest(host, 'app', 'v1', AbortSignal.timeout(200)));
    expect(err.problem).to.equal('timeout');
  });

  it('reports a closed port as unreachable', async () => {
    const closedHost = host;
    await registry.stop();
    const err = await rejection(new RegistryClient().manifest(closedHost, 'app', 'v1', signal()));
    expect(err.problem).to.equal('unreachable');
    expect(err.registry).to.equal(closedHost);
    expect(err.message).to.include('ECONNREFUSED');
  });

  describe('with a Bearer token service', () => {
    const TOKEN = 'tok-123';
    let tokenRequests: Array<{ url: URL; authorization: string | undefined }> = [];

    beforeEach(() => {
      tokenRequests = [];
      registry.handler = (req, res) => {
        const url = new URL(req.url ?? '/', `http://${host}`);
        if (url.pathname === '/token') {
          tokenRequests.push({ url, authorization: req.headers.authorization });
          send(res, 200, JSON.stringify({ token: TOKEN, expires_in: 300 }), { 'Content-Type': 'application/json' });
          return;
        }
        if (req.headers.authorization !== `Bearer ${TOKEN}`) {
          send(res, 401, '{"errors":[{"code":"UNAUTHORIZED"}]}', { 'WWW-Authenticate': `Bearer realm="http://${host}/token",service="test",scope="repository:app:pull"` });
          return;
        }
        if (url.pathname === '/v2/app/manifests/v1') {
          const body = manifestBody(OCI_MANIFEST);
          send(res, 200, body, { 'Content-Type': OCI_MANIFEST });
          return;
        }
        send(res, 404, '');
      };
    });

    it('fetches a token from the realm with Basic credentials, retries with it, and reuses it', async () => {
      const basic = Buffer.from('alice:s3cret').toString('base64');
      const credentials: RegistryCredentials = { basic: (r) => (r === host ? basic : undefined), registries: [host] };
      const client = new RegistryClient({ credentials });

      expect((await client.manifest(host, 'app', 'v1', signal()))!.mediaType).to.equal(OCI_MANIFEST);
      expect(tokenRequests).to.have.length(1);
      expect(tokenRequests[0]!.authorization).to.equal(`Basic ${basic}`);
      expect(tokenRequests[0]!.url.searchParams.get('service')).to.equal('test');
      expect(tokenRequests[0]!.url.searchParams.get('scope')).to.equal('repository:app:pull');
      expect(registry.paths()).to.deep.equal(['/v2/app/manifests/v1', '/token', '/v2/app/manifests/v1']);
      expect(registry.requests[2]!.headers.authorization).to.equal(`Bearer ${TOKEN}`);

      // The second call sends the token straight away: no 401, no second token request.
      expect(await client.manifest(host, 'app', 'missing', signal())).to.equal(undefined);
      expect(tokenRequests).to.have.length(1);
      expect(registry.paths().slice(3)).to.deep.equal(['/v2/app/manifests/missing']);
      expect(registry.requests[3]!.headers.authorization).to.equal(`Bearer ${TOKEN}`);
    });

    it('asks for an anonymous token when it has no credentials for the registry', async () => {
      const client = new RegistryClient();
      expect(await client.manifest(host, 'app', 'v1', signal())).to.not.equal(undefined);
      expect(tokenRequests).to.have.length(1);
      expect(tokenRequests[0]!.authorization).to.equal(undefined);
    });

    it('reports a token the registry still refuses as denied', async () => {
      const inner = registry.handler;
      registry.handler = (req, res) => {
        if ((req.url ?? '').startsWith('/token')) {
          tokenRequests.push({ url: new URL(req.url ?? '/', `http://${host}`), authorization: req.headers.authorization });
          send(res, 200, JSON.stringify({ access_token: 'not-the-right-one' }));
          return;
        }
        inner(req, res);
      };
      const err = await rejection(new RegistryClient().manifest(host, 'app', 'v1', signal()));
      expect(err.problem).to.equal('denied');
      expect(tokenRequests).to.have.length(1);
    });
  });

  it('answers undefined for referrers when the registry has no Referrers API (404)', async () => {
    const digest = sha256('subject');
    expect(await new RegistryClient().referrers(host, 'app', digest, signal())).to.equal(undefined);
    expect(registry.paths()).to.deep.equal([`/v2/app/referrers/${digest}`]);
    expect(registry.requests[0]!.headers['accept']).to.equal(OCI_INDEX);
  });

  it('lists referrers from the Referrers API', async () => {
    const entry = { mediaType: OCI_MANIFEST, digest: sha256('referrer'), size: 100, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' };
    registry.handler = (_req, res) => send(res, 200, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [entry] }), { 'Content-Type': OCI_INDEX });
    expect(await new RegistryClient().referrers(host, 'app', sha256('subject'), signal())).to.deep.equal([entry]);
  });
});
