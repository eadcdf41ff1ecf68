/**
 * Seeded generator of request bodies written the way an attacker writes them: random key case,
 * Unicode look-alikes (some Go folds, most it does not), keys given twice in both orders, nulls, fake
 * parent keys, HostConfig fields at the top level, trailing data and deep nesting. Bodies are built
 * as entry lists and written as text, so duplicates and odd spacing survive.
 */

export type JValue = string | number | boolean | null | JValue[] | JObject;

/** An object as written; `map` objects hold user keys (labels), not struct field names. */
export class JObject {
  constructor(
    readonly entries: Array<[string, JValue]>,
    readonly map = false,
  ) {}
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

const SPACES = ['', ' ', '\n', '\t', '  ', '\r\n'];

export function write(value: JValue, rng: Random): string {
  const space = (): string => (rng.chance(0.15) ? rng.pick(SPACES) : '');
  if (value instanceof JObject) return `{${space()}${value.entries.map(([k, v]) => `${JSON.stringify(k)}${space()}:${space()}${write(v, rng)}`).join(`,${space()}`)}${space()}}`;
  if (Array.isArray(value)) return `[${value.map((item) => write(item, rng)).join(',')}]`;
  return JSON.stringify(value);
}

// --- values dockerd accepts on this engine (network none, no bridge) -------------------------------

const HOST_VALUES: Record<string, (rng: Random) => JValue> = {
  Privileged: (rng) => rng.chance(0.5),
  Binds: (rng) => rng.pick([['/etc:/host-etc:ro'], ['/tmp:/t'], ['/etc:/e', '/tmp:/t:rw'], []]),
  Mounts: (rng) => [
    new JObject([
      ['Type', 'bind'],
      ['Source', rng.pick(['/etc', '/tmp', '/var'])],
      ['Target', rng.pick(['/m1', '/m2'])],
      ['ReadOnly', rng.chance(0.5)],
    ]),
  ],
  CapAdd: (rng) => rng.pick<JValue>(['SYS_ADMIN', ['NET_ADMIN'], ['SYS_PTRACE', 'NET_RAW'], []]),
  CapDrop: (rng) => rng.pick<JValue>([['ALL'], 'NET_RAW', []]),
  Memory: (rng) => rng.pick([0, 67108864, 134217728]),
  PidsLimit: (rng) => rng.pick<JValue>([100, 0, null, 512]),
  CpuShares: (rng) => rng.pick([0, 512, 2048]),
  ReadonlyRootfs: (rng) => rng.chance(0.5),
  PidMode: (rng) => rng.pick(['', 'host']),
  UTSMode: (rng) => rng.pick(['', 'host']),
  SecurityOpt: (rng) => rng.pick<JValue>([['no-new-privileges'], [], ['apparmor=unconfined']]),
  Init: (rng) => rng.pick<JValue>([true, false, null]),
  RestartPolicy: (rng) => new JObject([['Name', rng.pick(['no', 'always', 'unless-stopped'])]]),
  GroupAdd: (rng) => rng.pick<JValue>([['100'], []]),
  Dns: (rng) => rng.pick<JValue>([['10.0.0.53'], []]),
  ExtraHosts: (rng) => rng.pick<JValue>([['db:10.0.0.9'], []]),
};

const CONFIG_VALUES: Record<string, (rng: Random) => JValue> = {
  User: (rng) => rng.pick(['', 'root', '1000', '0:0', 'nobody']),
  Env: (rng) => rng.pick<JValue>([['A=1'], ['MODE=prod', 'B=2'], []]),
  Labels: (rng) => new JObject(rng.pick<Array<[string, JValue]>>([[['team', 'a']], [['Team', 'x'], ['team', 'y']], [['de.role', 'web']], []]), true),
  WorkingDir: (rng) => rng.pick(['', '/tmp']),
  Tty: (rng) => rng.chance(0.5),
  StopSignal: (rng) => rng.pick(['', 'SIGINT']),
};

export const COMPARED_HOST_FIELDS = Object.keys(HOST_VALUES);
export const COMPARED_CONFIG_FIELDS = [...Object.keys(CONFIG_VALUES), 'Image', 'Cmd'];

// --- key mutations -----------------------------------------------------------------------------

/** Look-alikes: Go folds `ſ` to s and the Kelvin sign to k; the others match no field. */
const LOOKALIKES: ReadonlyArray<[from: RegExp, to: string]> = [
  [/s/, '\u017f'],
  [/k/, '\u212a'],
  [/i/, '\u0131'],
  [/I/, '\u0130'],
  [/e/, '\u0435'],
  [/o/, '\u03bf'],
];

function mutateKey(key: string, rng: Random): string {
  let out = key;
  if (rng.chance(0.35)) out = [...out].map((char) => (rng.chance(0.5) ? char.toLowerCase() : char.toUpperCase())).join('');
  if (rng.chance(0.12)) {
    const [from, to] = rng.pick(LOOKALIKES);
    out = out.replace(from, to);
  }
  return out;
}

function mutateObject(object: JObject, values: Record<string, (rng: Random) => JValue>, rng: Random): JObject {
  if (object.map) return object;
  const entries: Array<[string, JValue]> = [];
  for (const [key, value] of object.entries) {
    const child = value instanceof JObject ? mutateObject(value, values, rng) : Array.isArray(value) ? value.map((item) => (item instanceof JObject ? mutateObject(item, values, rng) : item)) : value;
    const generate = values[key];
    if (generate && rng.chance(0.12)) entries.push([mutateKey(key, rng), generate(rng)]); // the same field earlier
    entries.push([key === 'NetworkMode' ? key : mutateKey(key, rng), child]);
    if (generate && rng.chance(0.12)) entries.push([mutateKey(key, rng), generate(rng)]); // and later
    if (rng.chance(0.06)) entries.push([mutateKey(key, rng), null]);
    // A value of the wrong type: Go fails the whole body (dockerd answers 400).
    if (generate && rng.chance(0.01)) entries.push([mutateKey(key, rng), rng.pick<JValue>(['true', 1, new JObject([['a', 1]]), [1]])]);
  }
  return new JObject(entries);
}

export interface GeneratedBody {
  readonly text: string;
}

/** One create body. */
export function createBody(rng: Random): GeneratedBody {
  const host: Array<[string, JValue]> = [['NetworkMode', 'none']];
  for (const field of COMPARED_HOST_FIELDS) if (rng.chance(0.35)) host.push([field, HOST_VALUES[field]!(rng)]);
  const top: Array<[string, JValue]> = [
    ['Image', 'enforcer-test:busybox'],
    ['Cmd', ['sleep', '5']],
  ];
  for (const field of Object.keys(CONFIG_VALUES)) if (rng.chance(0.35)) top.push([field, CONFIG_VALUES[field]!(rng)]);

  // Where the HostConfig fields go: nested (usual), top level (the deprecated embedded HostConfig), or both.
  const placement = rng.pick(['nested', 'nested', 'nested', 'top', 'both', 'split']);
  const nested = new JObject(placement === 'split' ? host.filter((_e, i) => i % 2 === 0) : host);
  if (placement === 'nested' || placement === 'both' || placement === 'split') top.push(['HostConfig', nested]);
  if (placement === 'top' || placement === 'both') top.push(...host.map(([k, v]) => [k, v] as [string, JValue]));
  if (placement === 'split') top.push(['NetworkMode', 'none'], ...host.filter((_e, i) => i % 2 === 1));

  let body = mutateObject(new JObject(top), { ...HOST_VALUES, ...CONFIG_VALUES }, rng);
  // A second HostConfig (merged by Go), a null one, or a fake parent Go ignores.
  if (rng.chance(0.2)) {
    const extra = new JObject([['Privileged', rng.chance(0.5)], ['NetworkMode', 'none']]);
    const key = rng.pick(['HostConfig', 'hostconfig', 'HOSTCONFIG', 'HostConfıg', 'Host_Config', 'HoſtConfig', 'HostConfig ']);
    body = new JObject(rng.chance(0.5) ? [...body.entries, [key, rng.chance(0.2) ? null : extra]] : [[key, extra], ...body.entries]);
  }
  if (rng.chance(0.05)) {
    const depth = 200 + rng.int(800);
    body = new JObject([...body.entries, ['Junk', JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as JValue]]);
  }
  let text = write(body, rng);
  if (rng.chance(0.08)) text += rng.pick([' {"HostConfig":{"Privileged":true}}', 'garbage', '\n]', ' null']);
  return { text };
}

/** An object of some of `values`' fields (always those in `always`), mutated, with trailing data now and then. */
function bodyOf(values: Record<string, (rng: Random) => JValue>, always: Array<[string, JValue]>, rng: Random, share = 0.5): GeneratedBody {
  const entries: Array<[string, JValue]> = [...always];
  for (const field of Object.keys(values)) if (rng.chance(share)) entries.push([field, values[field]!(rng)]);
  let text = write(mutateObject(new JObject(entries), values, rng), rng);
  if (rng.chance(0.05)) text += rng.pick([' {"Privileged":true}', 'x']);
  return { text };
}

const EXEC_VALUES: Record<string, (rng: Random) => JValue> = {
  User: (rng) => rng.pick(['', 'root', '1000', 'nobody']),
  Privileged: (rng) => rng.chance(0.5),
  Tty: (rng) => rng.chance(0.5),
  Cmd: (rng) => rng.pick<JValue>([['id'], ['sh', '-c', 'true'], ['cat', '/etc/hostname']]),
  Env: (rng) => rng.pick<JValue>([['A=1'], []]),
  WorkingDir: (rng) => rng.pick(['', '/tmp']),
};
export const COMPARED_EXEC_FIELDS = ['User', 'Privileged', 'Tty', 'Cmd'];

/** One exec-create body (Cmd always present: dockerd refuses an exec without one). */
export function execBody(rng: Random): GeneratedBody {
  return bodyOf(EXEC_VALUES, [['Cmd', ['true']]], rng);
}

const UPDATE_VALUES: Record<string, (rng: Random) => JValue> = {
  CpuShares: (rng) => rng.pick([0, 256, 512, 1024]),
  PidsLimit: (rng) => rng.pick<JValue>([0, -1, 64, 200, null]),
  RestartPolicy: (rng) => new JObject(rng.chance(0.7) ? [['Name', rng.pick(['no', 'always', 'unless-stopped'])]] : [['MaximumRetryCount', 0]]),
  BlkioWeight: (rng) => rng.pick([0, 200, 500]),
  CpusetCpus: (rng) => rng.pick(['', '0']),
  Privileged: (rng) => rng.chance(0.5),
  Binds: () => ['/etc:/h'],
};
// BlkioWeight is sent but not compared: this kernel has no blkio weight, and dockerd drops it after decoding.
export const COMPARED_UPDATE_FIELDS = ['CpuShares', 'PidsLimit', 'RestartPolicy', 'CpusetCpus', 'Privileged', 'Binds'];

/** One update body (fields dockerd applies, and fields it ignores). */
export function updateBody(rng: Random): GeneratedBody {
  return bodyOf(UPDATE_VALUES, [], rng, 0.4);
}

const VOLUME_VALUES: Record<string, (rng: Random) => JValue> = {
  Driver: () => 'local',
  DriverOpts: (rng) => new JObject(rng.pick<Array<[string, JValue]>>([[['type', 'none'], ['o', 'bind'], ['device', '/etc']], [['type', 'tmpfs'], ['device', 'tmpfs']], [['Device', '/tmp'], ['device', '/etc'], ['o', 'bind'], ['type', 'none']]]), true),
  Labels: (rng) => new JObject(rng.pick<Array<[string, JValue]>>([[['team', 'a']], []]), true),
};
export const COMPARED_VOLUME_FIELDS = ['Driver', 'Options', 'Labels'];

/** One volume-create body, named `name`. */
export function volumeBody(rng: Random, name: string): GeneratedBody {
  return bodyOf(VOLUME_VALUES, [['Name', name]], rng, 0.7);
}

/** One legacy start body: HostConfig fields at the top level, nested, or both. */
export function legacyStartBody(rng: Random): GeneratedBody {
  const host: Array<[string, JValue]> = [['NetworkMode', 'none']];
  for (const field of ['Privileged', 'Binds', 'CapAdd', 'ReadonlyRootfs', 'PidsLimit']) if (rng.chance(0.5)) host.push([field, HOST_VALUES[field]!(rng)]);
  const top: Array<[string, JValue]> = rng.chance(0.5) ? host : [['HostConfig', new JObject(host)], ...(rng.chance(0.3) ? [['Privileged', true] as [string, JValue]] : [])];
  return { text: write(mutateObject(new JObject(top), HOST_VALUES, rng), rng) };
}
