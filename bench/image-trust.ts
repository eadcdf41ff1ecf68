/**
 * Image-trust gate cost, part of bench:authz. Two claims, each measured against a floor taken in
 * the same run (ratios and numbers are printed, never asserted):
 *  (a) a create decision whose image verification is cached adds at most ~20 µs: AuthzService in
 *      this process decides the captured create envelope with the gate off and on, passes alternated.
 *      Docker is a fake whose `imageInspect` answers a fixed Id and RepoDigest (no dockerd involved),
 *      and the cache is warmed once from the loopback registry, so the cached verdict is a real one.
 *  (b) an uncached verification costs at most 3 registry round trips: ImageTrustVerifier against
 *      Debian's docker-registry (distribution 2.8) on loopback, a fresh verifier per verification,
 *      for a create (`local`) and a pull (`remote`), with the legacy cosign layout and the bundle
 *      layout. The floor is one plain `GET /v2/` to the same registry, interleaved with the samples.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config';
import type { ImageIdentity } from '../src/docker/client';
import { createMetrics, observeVerification } from '../src/metrics';
import type { ImageTrustSettings } from '../src/policies/image-trust/settings';
import { ImageTrustVerifier } from '../src/policies/image-trust/verifier';
import { RegistryClient } from '../src/registry/client';
import type { RuleSet } from '../src/rules/rule-set';
import { TrustDecisions } from '../src/store/trust-decisions';
import { generateSigningKey, MEDIA_TYPES, pushBlob, pushManifest, resolveManifest, signBundle, signLegacy, writePublicKey, type ManifestRef } from '../test/integration/cosign-signer';
import { startRegistry, type TestRegistry } from '../test/integration/registry';
import { percentile } from './load';
import { comparisonHeading, compareDecisions, imageOnlyDocker, servicePair } from './decision-pair';

const REPOSITORY = 'app';

/** One HTTP request the registry client made: what it asked for, when it went out and when its answer's headers came back. */
interface Hop {
  readonly kind: string;
  readonly started: number;
  answered: number;
}

/** `…/v2/app/manifests/sha256:…` → `manifest`: what a request costs depends on what the registry serves. */
function kindOf(input: string | URL | Request): string {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const match = /\/(manifests|blobs|referrers)\//.exec(url);
  return match ? match[1]!.replace(/s$/, '') : 'other';
}

/** The registry client's transport, wrapped to count requests and to tell which ones waited for others. */
class CountingFetch {
  hops: Hop[] = [];
  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const hop: Hop = { kind: kindOf(input), started: performance.now(), answered: Infinity };
    this.hops.push(hop);
    try {
      return await fetch(input, init);
    } finally {
      hop.answered = performance.now();
    }
  };

  take(): Hop[] {
    const hops = this.hops;
    this.hops = [];
    return hops;
  }
}

/**
 * The longest chain of requests each sent only after the previous one was answered: the round trips
 * a verification waits for one after another (requests sent in parallel count once).
 */
function sequentialRoundTrips(hops: readonly Hop[]): number {
  const sorted = [...hops].sort((a, b) => a.started - b.started);
  const depth: number[] = [];
  sorted.forEach((hop, i) => {
    let before = 0;
    for (let j = 0; j < i; j++) if (sorted[j]!.answered <= hop.started) before = Math.max(before, depth[j]!);
    depth.push(before + 1);
  });
  return Math.max(0, ...depth);
}

/** An image pushed straight over the distribution API: a config blob (its digest is the local Id) and one layer. */
async function pushImage(registry: TestRegistry, tag: string): Promise<ManifestRef & { configDigest: string }> {
  // A distinct config per tag: distinct Ids and manifest digests, so one layout's signature cannot vouch for the other image.
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Env: [`MARK=${tag}`] }, rootfs: { type: 'layers', diff_ids: [`sha256:${randomBytes(32).toString('hex')}`] } }));
  const configBlob = await pushBlob(registry.url, REPOSITORY, config);
  const layerBlob = await pushBlob(registry.url, REPOSITORY, randomBytes(2048));
  await pushManifest(
    registry.url,
    REPOSITORY,
    {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: MEDIA_TYPES.ociConfig, digest: configBlob.digest, size: configBlob.size },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerBlob.digest, size: layerBlob.size }],
    },
    tag,
  );
  const ref = await resolveManifest(registry.url, REPOSITORY, tag);
  if (ref.configDigest !== configBlob.digest) throw new Error(`${REPOSITORY}:${tag} reads back with config ${ref.configDigest ?? 'none'}, pushed ${configBlob.digest}`);
  return { ...ref, configDigest: configBlob.digest };
}

/** The captured create envelope with its body's Image replaced (and Content-Length with it). */
function envelopeFor(envelope: string, image: string): Buffer {
  const parsed = JSON.parse(envelope) as { RequestBody: string; RequestHeaders?: Record<string, string> };
  const body = JSON.parse(Buffer.from(parsed.RequestBody, 'base64').toString('utf8')) as Record<string, unknown>;
  const bytes = Buffer.from(JSON.stringify({ ...body, Image: image }));
  return Buffer.from(JSON.stringify({ ...parsed, RequestBody: bytes.toString('base64'), RequestHeaders: { ...parsed.RequestHeaders, 'Content-Length': String(bytes.length) } }));
}

interface Sample {
  readonly ms: number;
  readonly hops: readonly Hop[];
}

/** The bench's whole image-trust section; the registry and temp files are gone when it returns or throws. */
export async function imageTrustBench(envelope: string, containerRules: string, requestRules: string): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'de-bench-trust-'));
  let registry: TestRegistry | undefined;
  const rulesToClose: RuleSet[] = [];
  // Ctrl-C skips `finally`: the registry is ended here too so it never outlives the bench.
  const interrupted = (signal: NodeJS.Signals): void => {
    void (registry?.stop() ?? Promise.resolve()).finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const startedAt = performance.now();
    registry = await startRegistry('127.0.0.1');
    const legacy = await pushImage(registry, 'legacy');
    const bundle = await pushImage(registry, 'bundle');
    const key = generateSigningKey();
    await signLegacy(registry.url, registry.host, REPOSITORY, legacy.digest, key);
    await signBundle(registry.url, registry.host, REPOSITORY, bundle, key);
    const keyFile = await writePublicKey(dir, 'cosign.pub', key);
    await writeFile(path.join(dir, 'rules.ts'), containerRules);
    await writeFile(path.join(dir, 'request_rules.ts'), requestRules);
    await writeFile(path.join(dir, 'no-rules.ts'), 'export const rules = [];\n');
    await writeFile(path.join(dir, 'no-request-rules.ts'), 'export const requestRules = [];\n');

    const name = (tag: string): string => `${registry!.host}/${REPOSITORY}:${tag}`;
    const images = new Map<string, ImageIdentity>([
      [name('legacy'), { id: legacy.configDigest, repoDigests: [`${registry.host}/${REPOSITORY}@${legacy.digest}`] }],
      [name('bundle'), { id: bundle.configDigest, repoDigests: [`${registry.host}/${REPOSITORY}@${bundle.digest}`] }],
    ]);
    const docker = imageOnlyDocker(images);
    // No whitelist rules file: an absent optional file, as on a host that has none.
    const env = { MODE: 'KILL', TRUSTED_REGISTRIES: registry.host, IMAGE_SIGNATURE_KEYS: keyFile, LOG_LEVEL: 'error', WHITELIST_RULES_PATH: path.join(dir, 'whitelist_rules.ts') };
    const settings: ImageTrustSettings | undefined = loadConfig({ ...env, RULES_PATH: path.join(dir, 'rules.ts') }, '/', 'bench').imageTrust;
    if (!settings || settings.keys.length !== 1) throw new Error('TRUSTED_REGISTRIES / IMAGE_SIGNATURE_KEYS did not load');
    console.log(`Image trust (TRUSTED_REGISTRIES=${registry.host}, one cosign key; Debian docker-registry on loopback, images pushed over HTTP):`);

    // (a) Cached verification in a create decision.
    const transport = new CountingFetch();
    const metrics = createMetrics('bench');
    // What the daemon's verifier reports on every verification, so its cost is counted too.
    const observe = observeVerification(metrics);
    const verifier = new ImageTrustVerifier({ settings, docker, registry: new RegistryClient({ fetch: transport.fetch }), observe });
    const warmed = await verifier.local(name('legacy'));
    const warmHops = transport.take();
    if (warmed === 'absent' || !warmed.trusted) throw new Error(`warming the cache did not verify ${name('legacy')}: ${warmed === 'absent' ? 'absent' : (warmed.reason ?? '')}`);
    console.log(`  cache warmed from the registry: ${name('legacy')} trusted (${warmed.layout ?? ''}, ${warmHops.length} requests); the create envelope names it`);
    const body = envelopeFor(envelope, name('legacy'));
    const rounds = 16;
    const perRound = 400;
    console.log(`  (a) create decision, AuthzService in this process, gate off vs on with the verification cached;`);
    console.log(`      µs per decision, median of ${rounds} alternated rounds of ${perRound} sequential decisions; [range of the per-round added]:`);
    console.log(comparisonHeading());
    for (const [label, rulesFile, requestRulesFile] of [
      ['10 container + 5 request rules', 'rules.ts', 'request_rules.ts'],
      ['no rules (decoding only)', 'no-rules.ts', 'no-request-rules.ts'],
    ] as const) {
      const setup = await servicePair({ ...env, RULES_PATH: path.join(dir, rulesFile), REQUEST_RULES_PATH: path.join(dir, requestRulesFile) }, docker, { deps: { imageTrust: { verifier, decisions: new TrustDecisions() } } });
      rulesToClose.push(setup.rules);
      await compareDecisions(label, setup, body, rounds, perRound);
    }
    const leaked = transport.take().length;
    console.log(`  registry requests during the cached decisions: ${leaked}${leaked > 0 ? ' (expected none: the cache missed)' : ''}`);

    // (b) Uncached verifications: a fresh verifier each time, one shared client (its only state is auth tokens, unused here).
    const counted = new CountingFetch();
    const client = new RegistryClient({ fetch: counted.fetch });
    const uncachedSettings: ImageTrustSettings = { ...settings, cacheTtlMs: 0 };
    const cases: ReadonlyArray<{ label: string; run: (v: ImageTrustVerifier) => Promise<unknown> }> = [
      { label: 'create (local), legacy .sig', run: (v) => v.local(name('legacy')) },
      { label: 'create (local), Sigstore bundle', run: (v) => v.local(name('bundle')) },
      { label: 'pull (remote), legacy .sig', run: (v) => v.remote(name('legacy')) },
      { label: 'pull (remote), Sigstore bundle', run: (v) => v.remote(name('bundle')) },
    ];
    const floor: number[] = [];
    const samples: Sample[][] = cases.map(() => []);
    const iterations = 200;
    const warmUp = 30;
    for (let i = 0; i < warmUp + iterations; i++) {
      const started = performance.now();
      const answer = await fetch(`${registry.url}/v2/`, { signal: AbortSignal.timeout(5_000) });
      await answer.arrayBuffer();
      const floorMs = performance.now() - started;
      if (answer.status !== 200) throw new Error(`GET /v2/ answered ${answer.status}`);
      if (i >= warmUp) floor.push(floorMs);
      for (const [index, { label, run }] of cases.entries()) {
        const fresh = new ImageTrustVerifier({ settings: uncachedSettings, docker, registry: client });
        const t0 = performance.now();
        const verdict = (await run(fresh)) as { trusted?: boolean; reason?: string };
        const ms = performance.now() - t0;
        const hops = counted.take();
        if (verdict.trusted !== true) throw new Error(`${label}: not trusted: ${verdict.reason ?? ''}`);
        if (i >= warmUp) samples[index]!.push({ ms, hops });
      }
    }
    floor.sort((a, b) => a - b);
    const floorMedian = percentile(floor, 50);
    console.log(`  (b) uncached verification, fresh verifier each time, ${iterations} each (after ${warmUp} warm-up), interleaved with the floor:`);
    const cell = (sortedMs: number[]): string => `${`${percentile(sortedMs, 50).toFixed(3)} ms`.padStart(10)} ${`${percentile(sortedMs, 95).toFixed(3)} ms`.padStart(10)} ${`${(percentile(sortedMs, 50) / floorMedian).toFixed(2)}×`.padStart(18)}`;
    const range = (values: number[]): string => {
      const low = Math.min(...values);
      const high = Math.max(...values);
      return low === high ? String(low) : `${low}–${high}`;
    };
    console.log(`  ${''.padEnd(34)} ${'requests'.padStart(8)} ${'in sequence'.padStart(11)} ${'median'.padStart(10)} ${'p95'.padStart(10)} ${'median / GET /v2/'.padStart(18)}`);
    console.log(`  ${'floor: one GET /v2/ (keep-alive)'.padEnd(34)} ${'1'.padStart(8)} ${'1'.padStart(11)} ${cell(floor)}`);
    for (const [index, { label }] of cases.entries()) {
      const rows = samples[index]!;
      const ms = rows.map((s) => s.ms).sort((a, b) => a - b);
      console.log(`  ${label.padEnd(34)} ${range(rows.map((s) => s.hops.length)).padStart(8)} ${range(rows.map((s) => sequentialRoundTrips(s.hops))).padStart(11)} ${cell(ms)}`);
    }
    // Why a verification can cost more GET /v2/s than it makes requests: not every request is as cheap as the floor.
    const byKind = new Map<string, number[]>();
    for (const hop of samples.flat().flatMap((s) => s.hops)) {
      const list = byKind.get(hop.kind) ?? [];
      list.push(hop.answered - hop.started);
      byKind.set(hop.kind, list);
    }
    const kinds = [...byKind].map(([kind, ms]) => `${kind} ${percentile(ms.sort((a, b) => a - b), 50).toFixed(3)} ms (${ms.length})`);
    console.log(`  median per request until its headers, by kind (count): ${kinds.join(', ')}`);
    console.log(`  ("requests": HTTP requests per verification; "in sequence": the longest chain of them each sent after the previous answer)`);
    console.log(`  image-trust section took ${((performance.now() - startedAt) / 1000).toFixed(1)} s\n`);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    for (const rules of rulesToClose) rules.close();
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
