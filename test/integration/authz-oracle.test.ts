/**
 * dockerd is the oracle: generated create bodies go to a dockerd WITHOUT the plugin; for every body
 * it accepts, what it created (inspect) must equal the enforcer's reading of the same bytes on every
 * compared field; for every body it refuses as undecodable, the enforcer must refuse to judge it too.
 * Seeded (ORACLE_SEED, ORACLE_CASES) and bounded in time (ORACLE_SECONDS).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { containersFromCreate, readContainerWrapper } from '../../src/facts/container-create';
import { JsonSyntaxError, parseFirstValue } from '../../src/facts/go-json';
import { containerAfterLegacyStart } from '../../src/facts/container-create';
import { containerAfterUpdate } from '../../src/facts/container-update';
import { decodeParsed } from '../../src/facts/go-json';
import { REQUEST_BODIES } from '../../src/facts/request-bodies';
import type { ContainerParams } from '../../src/rules/api';
import {
  COMPARED_CONFIG_FIELDS,
  COMPARED_EXEC_FIELDS,
  COMPARED_HOST_FIELDS,
  COMPARED_UPDATE_FIELDS,
  COMPARED_VOLUME_FIELDS,
  createBody,
  execBody,
  legacyStartBody,
  Random,
  updateBody,
  volumeBody,
} from './oracle/bodies';
import { createdId, rawDocker } from './raw-docker';
import { testEngine } from './setup';

const SEED = Number(process.env['ORACLE_SEED'] ?? 20261123);
const CASES = Number(process.env['ORACLE_CASES'] ?? 3000);
/** Cases for the other bodies (exec, update, volume; a tenth of it for legacy starts, which run containers). */
const OTHER_CASES = Number(process.env['ORACLE_OTHER_CASES'] ?? 400);
const SECONDS = Number(process.env['ORACLE_SECONDS'] ?? 150);
const CONCURRENCY = 4;
/** Counter-examples found by earlier runs, always checked first. */
const FIXED_CASES = JSON.parse(readFileSync(path.join(__dirname, '../../../test/fixtures/oracle/create-bodies.json'), 'utf8')) as string[];

function isZero(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === false ||
    value === 0 ||
    value === '' ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === 'object' && !Array.isArray(value) && Object.keys(value as object).length === 0)
  );
}

/** One comparable form per field: zero values alike, capabilities without CAP_, mounts by their core fields. */
function normalise(field: string, raw: unknown): unknown {
  let value = raw;
  if (field === 'SecurityOpt' && Array.isArray(value)) value = value.filter((opt) => opt !== 'label=disable'); // added by dockerd for privileged and host-namespace containers
  if (isZero(value)) return null;
  if (field === 'CapAdd' || field === 'CapDrop') return (value as string[]).map((cap) => cap.toUpperCase().replace(/^CAP_/, ''));
  if (field === 'Mounts') return (value as Array<Record<string, unknown>>).map((m) => ({ Type: m['Type'] ?? '', Source: m['Source'] ?? '', Target: m['Target'] ?? '', ReadOnly: m['ReadOnly'] === true }));
  if (field === 'Labels' || field === 'Options') return Object.fromEntries(Object.entries(value as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1))); // inspect sorts map keys
  if (field === 'RestartPolicy') {
    const policy = value as { Name?: string; MaximumRetryCount?: number };
    return isZero(policy.Name) && isZero(policy.MaximumRetryCount) ? null : { Name: policy.Name ?? '', MaximumRetryCount: policy.MaximumRetryCount ?? 0 };
  }
  return value;
}

interface Mismatch {
  readonly index: number;
  readonly body: string;
  readonly problem: string;
}

/** dockerd's answer to a body it could not decode (as opposed to one it decoded and refused). */
const DECODE_ERROR = /json: cannot unmarshal|invalid character|unexpected end of JSON|exceeded max depth|cannot unmarshal/;

describe('the body reading against dockerd as the oracle', function () {
  this.timeout((SECONDS + 120) * 1000);

  after(async () => {
    await testEngine().removeAllContainers();
  });

  it(`reads ${CASES} generated create bodies (seed ${SEED}) exactly as dockerd does`, async () => {
    const rng = new Random(SEED);
    const bodies = [...FIXED_CASES, ...Array.from({ length: CASES }, () => createBody(rng).text)];
    const mismatches: Mismatch[] = [];
    const stats = { created: 0, decodeErrors: 0, otherRefusals: 0, checked: 0 };
    const deadline = Date.now() + SECONDS * 1000;
    let next = 0;

    const check = async (index: number): Promise<void> => {
      const body = bodies[index]!;
      let reading: ReturnType<typeof readContainerWrapper> | undefined;
      let syntax: string | undefined;
      try {
        reading = readContainerWrapper(parseFirstValue(body));
      } catch (err: unknown) {
        if (!(err instanceof JsonSyntaxError)) throw err;
        syntax = err.message;
      }
      const response = await rawDocker('POST', `/v1.41/containers/create?name=oracle-${SEED}-${index}`, body);
      stats.checked++;
      const id = createdId(response);
      if (!id) {
        if (DECODE_ERROR.test(response.text)) {
          stats.decodeErrors++;
          if (syntax === undefined && reading?.typeError === undefined && reading?.refused === undefined) {
            mismatches.push({ index, body, problem: `dockerd could not decode it (${response.text.trim()}), the enforcer read it` });
          }
        } else stats.otherRefusals++;
        return;
      }
      stats.created++;
      if (syntax !== undefined || !reading || reading.typeError !== undefined || reading.refused !== undefined) {
        mismatches.push({ index, body, problem: `dockerd created it, the enforcer cannot read it (${syntax ?? reading?.typeError ?? reading?.refused})` });
        return;
      }
      const inspect = (await testEngine().docker.getContainer(id).inspect()) as unknown as { HostConfig: Record<string, unknown>; Config: Record<string, unknown> };
      // 20.10 reads the legacy wrapper: the first view is its container.
      const ours = containersFromCreate(reading, '')[0]!;
      for (const field of COMPARED_HOST_FIELDS) {
        const expected = normalise(field, inspect.HostConfig[field]);
        const actual = normalise(field, (ours.HostConfig as Record<string, unknown>)[field]);
        if (JSON.stringify(expected) !== JSON.stringify(actual)) mismatches.push({ index, body, problem: `HostConfig.${field}: dockerd ${JSON.stringify(expected)}, enforcer ${JSON.stringify(actual)}` });
      }
      for (const field of COMPARED_CONFIG_FIELDS) {
        const expected = normalise(field, inspect.Config[field]);
        const actual = normalise(field, (ours.Config as Record<string, unknown>)[field]);
        if (JSON.stringify(expected) !== JSON.stringify(actual)) mismatches.push({ index, body, problem: `Config.${field}: dockerd ${JSON.stringify(expected)}, enforcer ${JSON.stringify(actual)}` });
      }
      await testEngine().docker.getContainer(id).remove({ force: true });
    };

    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < bodies.length && Date.now() < deadline) await check(next++);
      }),
    );
    console.log(`      oracle seed ${SEED}: ${stats.checked} bodies, ${stats.created} created, ${stats.decodeErrors} undecodable, ${stats.otherRefusals} refused otherwise`);
    if (process.env['ORACLE_DEBUG']) {
      const byProblem = new Map<string, Mismatch[]>();
      for (const m of mismatches) {
        const key = m.problem.replace(/: dockerd.*/, '').replace(/\(.*/, '');
        byProblem.set(key, [...(byProblem.get(key) ?? []), m]);
      }
      for (const [key, list] of byProblem) console.log(key, list.length, JSON.stringify(list.slice(0, 2), null, 1));
    }
    expect(mismatches.slice(0, 5), `${mismatches.length} mismatches (seed ${SEED})`).to.deep.equal([]);
    expect(stats.checked, 'bodies checked before the time bound').to.be.at.least(Math.min(bodies.length, 300));
    expect(stats.created, 'bodies dockerd accepted').to.be.at.least(stats.checked / 4);
  });

  /** Reads `text` as dockerd reads the body of `action`: the value, or why it cannot be read. */
  function readAs(action: string, text: string): { value?: Record<string, unknown>; problem?: string } {
    try {
      const decoded = decodeParsed(parseFirstValue(text), REQUEST_BODIES[action]!.type);
      const problem = decoded.typeError ?? decoded.refused;
      return problem !== undefined ? { problem } : { value: decoded.value as Record<string, unknown> };
    } catch (err: unknown) {
      if (!(err instanceof JsonSyntaxError)) throw err;
      return { problem: err.message };
    }
  }

  /** Runs `count` generated cases one after another; each returns problems found. */
  async function runCases(count: number, one: (index: number) => Promise<string[]>): Promise<{ problems: string[]; checked: number }> {
    const deadline = Date.now() + SECONDS * 1000;
    const problems: string[] = [];
    let checked = 0;
    for (let index = 0; index < count && Date.now() < deadline; index++) {
      problems.push(...(await one(index)));
      checked++;
    }
    return { problems, checked };
  }

  function compare(where: string, fields: readonly string[], dockerd: Record<string, unknown>, ours: Record<string, unknown>): string[] {
    const problems: string[] = [];
    for (const field of fields) {
      const expected = normalise(field, dockerd[field]);
      const actual = normalise(field, ours[field]);
      if (JSON.stringify(expected) !== JSON.stringify(actual)) problems.push(`${where}.${field}: dockerd ${JSON.stringify(expected)}, enforcer ${JSON.stringify(actual)}`);
    }
    return problems;
  }

  it(`reads ${OTHER_CASES} exec-create bodies as dockerd does`, async () => {
    const rng = new Random(SEED + 1);
    const container = await testEngine().runContainer({ name: `oracle-exec-${SEED}` });
    const { problems, checked } = await runCases(OTHER_CASES, async () => {
      const { text } = execBody(rng);
      const ours = readAs('execCreate', text);
      const response = await rawDocker('POST', `/v1.41/containers/${container}/exec`, text);
      if (response.status !== 201) return DECODE_ERROR.test(response.text) && ours.problem === undefined ? [`undecodable to dockerd, read by the enforcer: ${text}`] : [];
      if (ours.problem !== undefined) return [`created by dockerd, unreadable to the enforcer (${ours.problem}): ${text}`];
      const id = (JSON.parse(response.text) as { Id: string }).Id;
      const inspect = JSON.parse((await rawDocker('GET', `/v1.41/exec/${id}/json`)).text) as { ProcessConfig: { user: string; privileged: boolean; tty: boolean; entrypoint: string; arguments: string[] } };
      const process = inspect.ProcessConfig;
      const dockerd = { User: process.user, Privileged: process.privileged, Tty: process.tty, Cmd: [process.entrypoint, ...(process.arguments ?? [])] };
      return compare('exec', COMPARED_EXEC_FIELDS, dockerd, ours.value!).map((problem) => `${problem} in ${text}`);
    });
    expect(problems.slice(0, 5)).to.deep.equal([]);
    expect(checked).to.be.at.least(Math.min(OTHER_CASES, 100));
  });

  it(`applies ${OTHER_CASES} update bodies as dockerd does`, async () => {
    const rng = new Random(SEED + 2);
    const container = await testEngine().runContainer({ name: `oracle-update-${SEED}` });
    const { problems, checked } = await runCases(OTHER_CASES, async () => {
      const { text } = updateBody(rng);
      const ours = readAs('containersUpdate', text);
      const before = (await testEngine().docker.getContainer(container).inspect()) as unknown as ContainerParams;
      const response = await rawDocker('POST', `/v1.41/containers/${container}/update`, text);
      if (response.status !== 200) return DECODE_ERROR.test(response.text) && ours.problem === undefined ? [`undecodable to dockerd, read by the enforcer: ${text}`] : [];
      if (ours.problem !== undefined) return [`applied by dockerd, unreadable to the enforcer (${ours.problem}): ${text}`];
      const after = (await testEngine().docker.getContainer(container).inspect()) as unknown as ContainerParams;
      const predicted = containerAfterUpdate(before, ours.value!, '1.41');
      return compare('update', COMPARED_UPDATE_FIELDS, after.HostConfig as Record<string, unknown>, predicted.HostConfig as Record<string, unknown>).map((problem) => `${problem} in ${text}`);
    });
    expect(problems.slice(0, 5)).to.deep.equal([]);
    expect(checked).to.be.at.least(Math.min(OTHER_CASES, 100));
  });

  it(`reads ${OTHER_CASES} volume-create bodies as dockerd does`, async () => {
    const rng = new Random(SEED + 3);
    const { problems, checked } = await runCases(OTHER_CASES, async (index) => {
      const name = `oracle-vol-${SEED}-${index}`;
      const { text } = volumeBody(rng, name);
      const ours = readAs('volumesCreate', text);
      const response = await rawDocker('POST', '/v1.41/volumes/create', text);
      if (response.status !== 201) return DECODE_ERROR.test(response.text) && ours.problem === undefined ? [`undecodable to dockerd, read by the enforcer: ${text}`] : [];
      if (ours.problem !== undefined) return [`created by dockerd, unreadable to the enforcer (${ours.problem}): ${text}`];
      const created = JSON.parse(response.text) as { Name: string; Driver: string; Options: Record<string, string> | null; Labels: Record<string, string> | null };
      await rawDocker('DELETE', `/v1.41/volumes/${encodeURIComponent(created.Name)}`);
      const value = ours.value!;
      return compare('volume', COMPARED_VOLUME_FIELDS, created, { Driver: value['Driver'] === undefined || value['Driver'] === '' ? 'local' : value['Driver'], Options: value['DriverOpts'], Labels: value['Labels'] }).map(
        (problem) => `${problem} in ${text}`,
      );
    });
    expect(problems.slice(0, 5)).to.deep.equal([]);
    expect(checked).to.be.at.least(Math.min(OTHER_CASES, 100));
  });

  it(`applies ${Math.ceil(OTHER_CASES / 10)} legacy start bodies (API 1.23) as dockerd does`, async () => {
    const rng = new Random(SEED + 4);
    const { problems, checked } = await runCases(Math.ceil(OTHER_CASES / 10), async (index) => {
      const { text } = legacyStartBody(rng);
      const created = await testEngine().docker.createContainer({ name: `oracle-start-${SEED}-${index}`, Image: testEngine().image, Cmd: ['sleep', '30'], HostConfig: { NetworkMode: 'none', Memory: 67108864 } });
      try {
        const before = (await created.inspect()) as unknown as ContainerParams;
        let reading: ReturnType<typeof readContainerWrapper> | undefined;
        try {
          reading = readContainerWrapper(parseFirstValue(text));
        } catch {
          reading = undefined;
        }
        const response = await rawDocker('POST', `/v1.23/containers/${created.id}/start`, text);
        if (response.status !== 204) return [];
        if (!reading || reading.typeError !== undefined) return [`started by dockerd, unreadable to the enforcer: ${text}`];
        const after = (await created.inspect()) as unknown as ContainerParams;
        const predicted = containerAfterLegacyStart(before, reading);
        return compare('start', ['Privileged', 'Binds', 'CapAdd', 'ReadonlyRootfs', 'PidsLimit', 'Memory'], after.HostConfig as Record<string, unknown>, predicted.HostConfig as Record<string, unknown>).map(
          (problem) => `${problem} in ${text}`,
        );
      } finally {
        await created.remove({ force: true });
      }
    });
    expect(problems.slice(0, 5)).to.deep.equal([]);
    expect(checked).to.be.at.least(10);
  });
});
