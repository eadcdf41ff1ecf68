import { expect } from 'chai';
import { CONTAINER_CREATE, CONTAINER_UPDATE } from '../../../src/authz/container-schema';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { decodeLikeGo, decodeLikeGoSlowly, JsonSyntaxError } from '../../../src/authz/go-json';

type Body = { HostConfig?: Record<string, unknown>; Labels?: Record<string, string>; Image?: string } & Record<string, unknown>;
const create = (text: string): Body => decodeLikeGo(text, CONTAINER_CREATE) as Body;

describe('decoding bodies like dockerd', () => {
  it('matches field names case-insensitively, as Go does', () => {
    const body = create('{"image":"busybox","hostconfig":{"privileged":true,"MEMORY":5,"restartpolicy":{"name":"always"}}}');
    expect(body.Image).to.equal('busybox');
    expect(body.HostConfig).to.deep.equal({ Privileged: true, Memory: 5, RestartPolicy: { Name: 'always' } });
  });

  it("folds the non-ASCII letters Go folds (ſ, Kelvin K, dotless ı)", () => {
    const body = create('{"HostConfig":{"Bindſ":["/:/host"],"Prıvileged":true}}');
    expect(body.HostConfig).to.deep.equal({ Binds: ['/:/host'], Privileged: true });
  });

  it('merges a struct given twice instead of keeping only the last one (JSON.parse would lose Privileged)', () => {
    const body = create('{"HostConfig":{"Privileged":true},"hostconfig":{"Memory":1}}');
    expect(body.HostConfig).to.deep.equal({ Privileged: true, Memory: 1 });
    const exact = create('{"HostConfig":{"Privileged":true},"HostConfig":{"Memory":1}}');
    expect(exact.HostConfig).to.deep.equal({ Privileged: true, Memory: 1 });
  });

  it('lets the later scalar win, like Go', () => {
    expect(create('{"HostConfig":{"privileged":false,"Privileged":true}}').HostConfig).to.deep.equal({ Privileged: true });
    expect(create('{"HostConfig":{"Privileged":true,"privileged":false}}').HostConfig).to.deep.equal({ Privileged: false });
  });

  it('keeps map keys (labels) as written', () => {
    expect(create('{"Labels":{"De.Test":"bad","de.test":"ok"}}').Labels).to.deep.equal({ 'De.Test': 'bad', 'de.test': 'ok' });
  });

  it('keeps unknown fields so rules can still see newer API fields', () => {
    expect(create('{"HostConfig":{"SomethingNew":1}}').HostConfig).to.deep.equal({ SomethingNew: 1 });
  });

  it('decodes update bodies (Resources + RestartPolicy)', () => {
    expect(decodeLikeGo('{"cpushares":4096,"restartpolicy":{"name":"no"}}', CONTAINER_UPDATE)).to.deep.equal({ CpuShares: 4096, RestartPolicy: { Name: 'no' } });
  });

  it('rejects invalid JSON with the offset', () => {
    expect(() => create('{"HostConfig": {')).to.throw(JsonSyntaxError);
    expect(() => create('{"a":1} trailing')).to.throw(/unexpected data after the JSON value at offset 8/);
    expect(() => create('[' .repeat(300) + ']'.repeat(300))).to.throw(/nesting too deep/);
  });

  it('takes the fast path only when it gives what the keep-every-entry parser gives', () => {
    const envelope = JSON.parse(readFileSync(path.resolve(__dirname, '../../../../test/fixtures/authz/create-envelope.json'), 'utf8')) as { RequestBody: string };
    const captured = Buffer.from(envelope.RequestBody, 'base64').toString('utf8');
    // Deterministic variants of the captured body: keys re-cased at random, some with escapes and spaces.
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const variants = [captured, '{"HostConfig":{"Privileged":true},"hostconfig":{"Memory":1}}', String.raw`{"Labels":{"a\"":"\\\"x"}, "Env" : ["A=\\"]}`];
    for (let i = 0; i < 200; i++) {
      variants.push(captured.replace(/"([A-Za-z]+)":/g, (match, key: string) => (random() < 0.3 ? `"${random() < 0.5 ? key.toLowerCase() : key.toUpperCase()}" :` : match)));
    }
    for (const text of variants) expect(create(text)).to.deep.equal(decodeLikeGoSlowly(text, CONTAINER_CREATE), text);
  });
});
