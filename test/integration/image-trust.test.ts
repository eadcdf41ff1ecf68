/**
 * Image trust through a real dockerd and real registries: Debian's docker-registry on 127.0.0.1
 * (trusted) and 127.0.0.2 (not), images pushed by the throwaway dockerd, signed with keys made here
 * in both cosign layouts. Every case goes through the docker CLI and asserts what dockerd did.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { generateSigningKey, resolveManifest, signBundle, signLegacy, writePublicKey, type SigningKey } from './cosign-signer';
import { detections, getJson, startEnforcer, type DetectionJson, type RunningEnforcer } from './enforcer';
import { tcpPlugin } from './plugin';
import { startRegistry, type TestRegistry } from './registry';
import { testEngine } from './setup';
import { runCommand, type CliResult } from './tls';

const TIMEOUT_MS = 1500;

/** The docker CLI against the throwaway engine, with no host CLI config taking part. */
function docker(...args: string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[name];
  return runCommand('/usr/bin/docker', ['-H', `unix://${testEngine().socketPath}`, ...args], { env: { ...env, DOCKER_CONFIG: path.join(os.tmpdir(), `de-trust-cli-${process.pid}`) }, timeoutMs: 60_000 });
}

async function ok(result: Promise<CliResult>, what: string): Promise<CliResult> {
  const done = await result;
  expect(done.code, `${what}: ${done.stderr}`).to.equal(0);
  return done;
}

/** A new image (own Id): the test image committed with one more ENV line. */
async function distinctImage(tag: string): Promise<string> {
  const engine = testEngine();
  const container = await engine.docker.createContainer({ Image: engine.image, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
  try {
    const colon = tag.lastIndexOf(':');
    await container.commit({ repo: tag.slice(0, colon), tag: tag.slice(colon + 1), changes: [`ENV MARK=${tag}`] });
  } finally {
    await container.remove({ force: true });
  }
  return (await engine.docker.getImage(tag).inspect()).Id;
}

function ruleList(detection: DetectionJson): string[] {
  return Array.isArray(detection.violated_rule) ? detection.violated_rule : [detection.violated_rule];
}

describe('image trust through a real dockerd and loopback registries', function () {
  this.timeout(180_000);
  let trusted: TestRegistry;
  let untrusted: TestRegistry;
  let enforcer: RunningEnforcer;
  let keyDir = '';
  let ours: SigningKey;
  let theirs: SigningKey;
  let evilId = '';
  const plugin = tcpPlugin('trust', 31);
  const repo = (): string => `${trusted.host}/app`;

  /** Makes `repo:tag` a new image, pushes it, and signs its digest as asked. */
  async function publish(registry: TestRegistry, tag: string, sign: 'legacy' | 'bundle' | 'none', key?: SigningKey): Promise<{ digest: string; id: string }> {
    const name = `${registry.host}/app:${tag}`;
    const id = await distinctImage(name);
    await ok(docker('push', name), `push ${name}`);
    const manifest = await resolveManifest(registry.url, 'app', tag);
    if (sign === 'legacy') await signLegacy(registry.url, registry.host, 'app', manifest.digest, key ?? ours);
    if (sign === 'bundle') await signBundle(registry.url, registry.host, 'app', manifest, key ?? ours);
    return { digest: manifest.digest, id };
  }

  const pull = (image: string): Promise<CliResult> => docker('pull', '-q', image);
  const runDetached = (name: string, image: string): Promise<CliResult> => docker('run', '-d', '--network', 'none', '--name', name, image, 'sleep', '60');
  const forget = (image: string): Promise<CliResult> => docker('rmi', image);

  before(async () => {
    [trusted, untrusted] = await Promise.all([startRegistry('127.0.0.1'), startRegistry('127.0.0.2')]);
    keyDir = await mkdtemp(path.join(os.tmpdir(), 'de-trust-keys-'));
    ours = generateSigningKey();
    theirs = generateSigningKey();
    const keyFile = await writePublicKey(keyDir, 'cosign.pub', ours);
    await publish(trusted, 'legacy', 'legacy');
    await publish(trusted, 'bundle', 'bundle');
    await publish(trusted, 'unsigned', 'none');
    await publish(trusted, 'theirs', 'legacy', theirs);
    await publish(trusted, 'late', 'legacy');
    await publish(untrusted, 'signed', 'legacy');
    // Made before the policy (afterwards, commit and tag are judged too).
    evilId = await distinctImage('local/evil:1');
    await publish(trusted, 'moved', 'legacy');
    await distinctImage('local/next:1');
    await testEngine().docker.getImage(testEngine().image).tag({ repo: 'busybox', tag: 'latest' });
    // Started before the policy: the periodic scan must catch it.
    await ok(runDetached('trust-early', `${repo()}:unsigned`), 'run before the policy');
    enforcer = await startEnforcer(
      testEngine(),
      {
        HTTP_PORT: String(plugin.port),
        MODE: 'KILL',
        RUN_PERIODIC: 'True',
        IMMEDIATE_PERIODICAL_START: 'True',
        CHECK_INTERVAL_S: '2',
        RUN_START_EVENTS: 'False',
        RELOAD_ON_CHANGE: 'False',
        TRUSTED_REGISTRIES: trusted.host,
        IMAGE_SIGNATURE_KEYS: keyFile,
        IMAGE_TRUST_TIMEOUT_MS: String(TIMEOUT_MS),
      },
      {
        // Rules see the verdict: a WARN rule that "violates" on images signed by our key proves c.imageTrust reached it.
        rules: "export const rules: ContainerRule[] = [{ name: 'signed by our key', mode: 'WARN', rule: (c) => c.imageTrust?.trusted === true && c.imageTrust.key !== null }];",
      },
    );
    await plugin.register();
  });

  after(async () => {
    await plugin.unregister().catch(() => undefined);
    await enforcer?.stop();
    await testEngine().removeAllContainers();
    for (const tag of ['legacy', 'bundle', 'unsigned', 'theirs', 'late', 'moved']) await forget(`${trusted?.host}/app:${tag}`).catch(() => undefined);
    for (const name of [`${untrusted?.host}/app:signed`, 'local/evil:1', 'local/next:1', 'busybox:latest']) await forget(name).catch(() => undefined);
    await Promise.all([trusted?.stop(), untrusted?.stop()]);
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  });

  it('pulls and runs images signed by our key, in both cosign layouts', async () => {
    for (const tag of ['legacy', 'bundle']) {
      await ok(forget(`${repo()}:${tag}`), `rmi ${tag}`);
      await ok(pull(`${repo()}:${tag}`), `pull ${tag}`);
      await ok(runDetached(`trust-${tag}`, `${repo()}:${tag}`), `run ${tag}`);
      expect(await testEngine().isRunning(`trust-${tag}`), tag).to.equal(true);
    }
    const recent = (await getJson(`${enforcer.url}/recent`)).body['image_trust'] as Array<{ image: string; trusted: boolean; key: string | null; layout: string | null }>;
    const layouts = new Set(recent.filter((d) => d.trusted && d.key !== null).map((d) => d.layout));
    expect([...layouts].sort()).to.deep.equal(['sigstore-bundle', 'simple-signing']);
    // The container rule read c.imageTrust (WARN: recorded, the container runs).
    const seen = await detections(enforcer, '?show_all_violated_rules=true');
    expect(seen.some((d) => d.name === 'trust-legacy' && ruleList(d).includes('signed by our key'))).to.equal(true);
  });

  it('refuses unsigned images, images signed by another key, and other registries, at pull and at run', async () => {
    const cases: Array<[string, string]> = [
      [`${repo()}:unsigned`, 'is not signed by a trusted key'],
      [`${repo()}:theirs`, 'not in IMAGE_SIGNATURE_KEYS'],
      [`${untrusted.host}/app:signed`, 'which is not trusted'],
    ];
    for (const [index, [image, why]] of cases.entries()) {
      const pulled = await pull(image);
      expect(pulled.code, image).to.not.equal(0);
      expect(pulled.stderr, image).to.include(why);
      // Pushed from this host, so the image is here: running it is refused too.
      const ran = await runDetached(`trust-bad-${index}`, image);
      expect(ran.code, image).to.not.equal(0);
      expect(ran.stderr, image).to.include(why);
    }
    expect((await testEngine().docker.listContainers({ all: true })).map((c) => c.Names[0])).to.not.include.members(['/trust-bad-0', '/trust-bad-1', '/trust-bad-2']);
  });

  it('treats busybox and docker.io/library/busybox alike: from docker.io, which is not trusted', async () => {
    for (const name of ['busybox', 'docker.io/library/busybox', 'index.docker.io/library/busybox:latest']) {
      const ran = await runDetached(`trust-hub-${name.length}`, name);
      expect(ran.code, name).to.not.equal(0);
      expect(ran.stderr, name).to.include('docker.io/library/busybox:latest is from registry docker.io, which is not trusted');
    }
  });

  it('does not run a local image re-tagged with a trusted name', async () => {
    // `docker tag` to a trusted name is allowed (the name is trusted); the content is not.
    await ok(docker('tag', 'local/evil:1', `${repo()}:legacy`), 'tag');
    const ran = await runDetached('trust-retagged', `${repo()}:legacy`);
    expect(ran.code).to.not.equal(0);
    expect(ran.stderr).to.include(`${evilId}): it came from no registry`);
    expect(await testEngine().isRunning('trust-retagged')).to.equal(false);
    // By id prefix, as dockerd resolves it: judged on what it resolves to.
    const byEvilId = await runDetached('trust-evil-id', evilId.slice('sha256:'.length, 'sha256:'.length + 12));
    expect(byEvilId.code).to.not.equal(0);
    expect(byEvilId.stderr).to.include('it came from no registry');
    await ok(pull(`${repo()}:legacy`), 'pull the signed image back');
    await ok(runDetached('trust-repulled', `${repo()}:legacy`), 'run the signed image again');
    const signedId = (await testEngine().docker.getImage(`${repo()}:legacy`).inspect()).Id;
    await ok(runDetached('trust-signed-id', signedId.slice('sha256:'.length, 'sha256:'.length + 12)), 'run the signed image by id prefix');
  });

  it('stops a container whose image is not trusted in a periodic scan, and refuses to start it again', async () => {
    await testEngine().waitFor(async () => !(await testEngine().isRunning('trust-early')), 20_000, 'the periodic scan to stop trust-early');
    const found = await detections(enforcer, '?show_all_violated_rules=true');
    expect(found.some((d) => d.name === 'trust-early' && ruleList(d).some((r) => r.startsWith('image trust: ') && r.includes('is not signed by a trusted key')))).to.equal(true);
    const start = await docker('start', 'trust-early');
    expect(start.code).to.not.equal(0);
    expect(start.stderr).to.include('is not signed by a trusted key');
    expect(await testEngine().isRunning('trust-early')).to.equal(false);
  });

  it('refuses a pull after the tag was moved to an unsigned image', async () => {
    await ok(forget(`${repo()}:moved`), 'rmi moved');
    await ok(pull(`${repo()}:moved`), 'pull while signed');
    // Re-pointed at the registry: the same tag, another (unsigned) manifest. Tag and push to a trusted
    // registry are allowed: only the names are judged there.
    await ok(docker('tag', 'local/next:1', `${repo()}:moved`), 'tag another image as moved');
    await ok(docker('push', `${repo()}:moved`), 'push the moved tag');
    await ok(forget(`${repo()}:moved`), 'rmi the new moved');
    const pulled = await pull(`${repo()}:moved`);
    expect(pulled.code).to.not.equal(0);
    expect(pulled.stderr).to.include('is not signed by a trusted key');
  });

  it('refuses build, import, commit and names in untrusted registries (IMAGE_TRUST_ALLOW_LOCAL_BUILDS=False)', async () => {
    const commit = await docker('commit', 'trust-legacy', `${repo()}:committed`);
    expect(commit.code).to.not.equal(0);
    expect(commit.stderr).to.include('commit makes an image no registry vouches for');
    const load = await docker('load', '-i', '/dev/null');
    expect(load.code).to.not.equal(0);
    expect(load.stderr).to.include('load makes an image no registry vouches for');
    const tag = await docker('tag', `${repo()}:legacy`, `${untrusted.host}/app:copy`);
    expect(tag.code).to.not.equal(0);
    expect(tag.stderr).to.include(`registry ${untrusted.host}, which is not trusted`);
    const images = (await testEngine().docker.listImages()).flatMap((i) => i.RepoTags ?? []);
    expect(images).to.not.include.members([`${repo()}:committed`, `${untrusted.host}/app:copy`]);
  });

  it('refuses an unverified image within the timeout, naming the registry, when the registry hangs or is down', async () => {
    trusted.pause();
    try {
      const started = Date.now();
      const ran = await runDetached('trust-hang', `${repo()}:late`);
      const seconds = (Date.now() - started) / 1000;
      expect(ran.code).to.not.equal(0);
      expect(ran.stderr).to.include(`registry ${trusted.host} did not answer within ${TIMEOUT_MS} ms`);
      console.log(`      refused after ${seconds.toFixed(2)} s with a hanging registry (IMAGE_TRUST_TIMEOUT_MS=${TIMEOUT_MS})`);
    } finally {
      trusted.resume();
    }
    await trusted.kill();
    try {
      const ran = await runDetached('trust-down', `${repo()}:late`);
      expect(ran.code).to.not.equal(0);
      expect(ran.stderr).to.include(`registry ${trusted.host}`);
      // What was verified before stays verified (cached): the signed image still runs.
      await ok(runDetached('trust-cached', `${repo()}:bundle`), 'run a cached verification');
    } finally {
      await trusted.start();
    }
    // Back up: the same image now verifies.
    await ok(runDetached('trust-late', `${repo()}:late`), 'run once the registry answers');
  });

  it('shows the settings and key fingerprints on /rules and counts verifications on /metrics', async () => {
    const rules = (await getJson(`${enforcer.url}/rules`)).body['image_trust'] as { trusted_registries: string[]; signature_keys: Array<{ fingerprint: string }> };
    expect(rules.trusted_registries).to.deep.equal([trusted.host]);
    expect(rules.signature_keys).to.have.length(1);
    expect(rules.signature_keys[0]!.fingerprint).to.match(/^sha256:[a-f0-9]{64}$/);
    const metrics = await (await fetch(`${enforcer.url}/metrics`)).text();
    expect(metrics).to.match(/^docker_enforcer_image_verifications_total\{result="trusted",source="registry"\} [1-9]/m);
    expect(metrics).to.match(/^docker_enforcer_image_verifications_total\{result="untrusted",source="registry"\} [1-9]/m);
    expect(metrics).to.match(/^docker_enforcer_image_verifications_total\{result="unavailable",source="registry"\} [1-9]/m);
    expect(metrics).to.match(/^docker_enforcer_image_verifications_total\{result="trusted",source="cache"\} [1-9]/m);
    expect(metrics).to.match(/^docker_enforcer_image_verification_seconds_count\{source="registry"\} [1-9]/m);
  });

  it('stops a container started from an untrusted image the moment it starts (events mode)', async () => {
    // Without the plugin in front of dockerd (a container started while the enforcer was away).
    await plugin.unregister();
    const watcher = await startEnforcer(
      testEngine(),
      { MODE: 'KILL', RUN_PERIODIC: 'False', RUN_START_EVENTS: 'True', RELOAD_ON_CHANGE: 'False', TRUSTED_REGISTRIES: trusted.host, IMAGE_SIGNATURE_KEYS: path.join(keyDir, 'cosign.pub') },
      { rules: 'export const rules: ContainerRule[] = [];' },
    );
    try {
      await testEngine().waitFor(async () => (await getJson(`${watcher.url}/health`)).status === 200, 10_000, 'the events enforcer to be healthy');
      await ok(runDetached('trust-event', `${repo()}:unsigned`), 'run without the plugin');
      await testEngine().waitFor(async () => !(await testEngine().isRunning('trust-event')), 15_000, 'the start event to stop trust-event');
      const found = await detections(watcher, '?show_all_violated_rules=true');
      expect(found.some((d) => d.name === 'trust-event' && d.source === 'event' && ruleList(d).some((r) => r.startsWith('image trust: ')))).to.equal(true);
    } finally {
      await watcher.stop();
    }
  });
});
