import { X509Certificate } from 'node:crypto';
import { readFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import Docker from 'dockerode';
import { rawRequest } from './raw-docker';
import { makeCertificates, startTlsTestEngine, type TlsCertificates, type TlsTestEngine } from './tls';

/** The AuthZReq envelope fields these tests read. */
interface Envelope {
  readonly User?: string;
  readonly UserAuthNMethod?: string;
  readonly RequestMethod: string;
  readonly RequestUri: string;
  readonly RequestBody?: string;
  readonly RequestPeerCertificates?: unknown;
}

interface RecordingPlugin {
  readonly port: number;
  readonly envelopes: Envelope[];
  close(): Promise<void>;
}

/** An AuthZ plugin that allows everything and keeps every AuthZReq envelope dockerd sends it. */
async function startRecordingPlugin(): Promise<RecordingPlugin> {
  const envelopes: Envelope[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (body: unknown): void => {
        res.writeHead(200, { 'content-type': 'application/vnd.docker.plugins.v1.2+json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/Plugin.Activate') return reply({ Implements: ['authz'] });
      if (req.url === '/AuthZPlugin.AuthZReq') {
        envelopes.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Envelope);
        return reply({ Allow: true });
      }
      if (req.url === '/AuthZPlugin.AuthZRes') return reply({ Allow: true });
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    envelopes,
    close: () =>
      new Promise<void>((resolve) => {
        // dockerd keeps its plugin connections open.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** RequestPeerCertificates entries are base64 of PEM text (Go's json.Marshal of the PEM bytes). */
function peerCertificates(envelope: Envelope): X509Certificate[] {
  const list = envelope.RequestPeerCertificates;
  expect(list, 'RequestPeerCertificates').to.be.an('array');
  return (list as unknown[]).map((entry) => {
    expect(entry).to.be.a('string');
    const pem = Buffer.from(entry as string, 'base64').toString('utf8');
    expect(pem).to.match(/^-----BEGIN CERTIFICATE-----\n/);
    return new X509Certificate(pem);
  });
}

async function certificateFile(file: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(file));
}

async function refusal(promise: Promise<unknown>): Promise<Error & { code?: string; statusCode?: number }> {
  try {
    await promise;
  } catch (err: unknown) {
    return err as Error & { code?: string; statusCode?: number };
  }
  throw new Error('the call succeeded');
}

describe('TLS users through a real dockerd', function () {
  this.timeout(120_000);
  const pluginName = `de-tls-recorder-${process.pid}`;
  const spec = `/etc/docker/plugins/${pluginName}.spec`;
  let started: TlsTestEngine | undefined;
  let plugin: RecordingPlugin | undefined;
  let foreignDir: string | undefined;

  /** The one envelope whose RequestUri contains `marker` (each test calls with its own marker). */
  function envelopeFor(marker: string): Envelope {
    const found = plugin?.envelopes.filter((envelope) => envelope.RequestUri.includes(marker)) ?? [];
    expect(found, `envelopes for ${marker}`).to.have.length(1);
    return found[0] as Envelope;
  }

  function tls(): TlsTestEngine {
    if (!started) throw new Error('the TLS engine did not start');
    return started;
  }

  const byName = (marker: string): string => JSON.stringify({ name: [marker] });

  before(async () => {
    started = await startTlsTestEngine(['alice', 'bob']);
    const engine = started;
    plugin = await startRecordingPlugin();
    await mkdir('/etc/docker/plugins', { recursive: true });
    await writeFile(spec, `tcp://127.0.0.1:${plugin.port}\n`);
    await engine.writeDaemonConfig({ 'authorization-plugins': [pluginName] });
    const recorder = plugin;
    await engine.waitFor(
      async () => {
        await engine.docker.ping();
        return recorder.envelopes.length > 0;
      },
      20_000,
      'dockerd to call the recording plugin',
    );
  });

  after(async () => {
    // The engine first: its cleanup goes through the plugin, which must still answer.
    await started?.stop();
    await rm(spec, { force: true });
    await plugin?.close();
    if (foreignDir) await rm(foreignDir, { recursive: true, force: true });
  });

  it('makes a CA, a localhost server certificate and a clientAuth certificate per user', async () => {
    const { certificates } = tls();
    const ca = await certificateFile(certificates.ca);
    expect(ca.ca).to.equal(true);
    const server = await certificateFile(certificates.server.cert);
    expect(server.checkIssued(ca)).to.equal(true);
    expect(server.checkIP('127.0.0.1')).to.equal('127.0.0.1');
    expect(server.checkHost('localhost')).to.equal('localhost');
    expect(Object.keys(certificates.users).sort()).to.deep.equal(['alice', 'bob']);
    for (const [user, pair] of Object.entries(certificates.users)) {
      const cert = await certificateFile(pair.cert);
      expect(cert.subject).to.equal(`CN=${user}`);
      expect(cert.checkIssued(ca)).to.equal(true);
      expect(cert.keyUsage).to.deep.equal(['1.3.6.1.5.5.7.3.2']); // clientAuth
    }
  });

  it('a dockerode call as alice reaches the plugin as User "alice", authenticated by TLS, with her certificate', async () => {
    const marker = `alice-probe-${process.pid}`;
    expect(await tls().dockerAs('alice').listContainers({ all: true, filters: byName(marker) })).to.deep.equal([]);
    const envelope = envelopeFor(marker);
    expect(envelope.User).to.equal('alice');
    expect(envelope.UserAuthNMethod).to.equal('TLS');
    // Node's TLS stack sends the chain it can build from `ca`, so the CA certificate follows the leaf.
    const [leaf, ...rest] = peerCertificates(envelope);
    expect(leaf?.fingerprint256).to.equal((await certificateFile(tls().certificates.users['alice']?.cert ?? '')).fingerprint256);
    expect(rest.map((cert) => cert.fingerprint256)).to.deep.equal([(await certificateFile(tls().certificates.ca)).fingerprint256]);
  });

  it('a docker CLI call as bob reaches the plugin as User "bob", authenticated by TLS', async () => {
    const marker = `bob-probe-${process.pid}`;
    const result = await tls().cliAs('bob', ['ps', '--all', '--quiet', '--filter', `name=${marker}`]);
    expect(result, result.stderr).to.deep.include({ code: 0, stdout: '' });
    const envelope = envelopeFor(marker);
    expect(envelope.User).to.equal('bob');
    expect(envelope.UserAuthNMethod).to.equal('TLS');
    expect(envelope.RequestUri).to.match(/^\/v1\.\d+\/containers\/json\?/);
    // Go's client sends only its own certificate.
    const certificates = peerCertificates(envelope);
    expect(certificates.map((cert) => cert.subject)).to.deep.equal(['CN=bob']);
  });

  it('a call on the unix socket reaches the plugin with no user, no method and no certificates', async () => {
    const marker = `unix-probe-${process.pid}`;
    expect(await tls().docker.listContainers({ all: true, filters: byName(marker) })).to.deep.equal([]);
    const envelope = envelopeFor(marker);
    expect(envelope).not.to.have.property('User');
    expect(envelope).not.to.have.property('UserAuthNMethod');
    expect(envelope).not.to.have.property('RequestPeerCertificates');
  });

  it('a raw call as alice carries her body byte for byte', async () => {
    const marker = `alice-raw-${process.pid}`;
    // Spacing and key order no JSON encoder would produce: only a byte-for-byte copy keeps them.
    const body = `{ "Cmd" : ["true"],"Image":"${tls().image}" ,"HostConfig":{"NetworkMode":"none"}}`;
    const response = await tls().rawAs('alice', 'POST', `/containers/create?name=${marker}`, body);
    expect(response.status, response.text).to.equal(201);
    const envelope = envelopeFor(marker);
    expect(envelope).to.deep.include({ User: 'alice', UserAuthNMethod: 'TLS', RequestMethod: 'POST' });
    expect(Buffer.from(envelope.RequestBody ?? '', 'base64').toString('utf8')).to.equal(body);
    const { Id } = JSON.parse(response.text) as { Id: string };
    await tls().dockerAs('alice').getContainer(Id).remove({ force: true });
  });

  it('dockerd forwards every certificate the client sent, not only the verified one', async () => {
    foreignDir ??= await mkdtemp(path.join(os.tmpdir(), 'de-tls-foreign-'));
    const foreign: TlsCertificates = await makeCertificates(path.join(foreignDir, 'extra'), ['root']);
    const alice = tls().certificates.users['alice'];
    if (!alice) throw new Error('alice has no certificate');
    // alice's leaf followed by a certificate from a CA dockerd does not trust, claiming CN=root.
    const chain = Buffer.concat([await readFile(alice.cert), await readFile(foreign.users['root']?.cert ?? '')]);
    const marker = `alice-chain-${process.pid}`;
    const response = await rawRequest(
      https.request,
      { host: '127.0.0.1', port: tls().tlsPort, ca: await readFile(tls().certificates.ca), cert: chain, key: await readFile(alice.key), agent: false },
      'GET',
      `/containers/json?filters=${encodeURIComponent(byName(marker))}`,
    );
    expect(response.status, response.text).to.equal(200);
    const envelope = envelopeFor(marker);
    // User comes from the verified leaf; the unverified extra certificate is passed on as sent.
    expect(envelope.User).to.equal('alice');
    expect(peerCertificates(envelope).map((cert) => cert.subject)).to.deep.equal(['CN=alice', 'CN=root']);
  });

  it('refuses a client certificate from another CA, and a client without one, before any AuthZ call', async () => {
    foreignDir ??= await mkdtemp(path.join(os.tmpdir(), 'de-tls-foreign-'));
    const foreign = await makeCertificates(path.join(foreignDir, 'other-ca'), ['mallory']);
    const mallory = foreign.users['mallory'];
    if (!mallory) throw new Error('mallory has no certificate');
    const ca = await readFile(tls().certificates.ca);
    const before = plugin?.envelopes.length ?? 0;
    const asMallory = new Docker({ host: '127.0.0.1', port: tls().tlsPort, protocol: 'https', ca, cert: await readFile(mallory.cert), key: await readFile(mallory.key) });
    const anonymous = new Docker({ host: '127.0.0.1', port: tls().tlsPort, protocol: 'https', ca });
    for (const client of [asMallory, anonymous]) {
      const err = await refusal(client.listContainers({ all: true }));
      // Refused in the TLS handshake: no HTTP answer at all.
      expect(err.statusCode).to.equal(undefined);
      expect(err.code).to.equal('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE');
    }
    expect(plugin?.envelopes.slice(before) ?? []).to.deep.equal([]);
  });
});
