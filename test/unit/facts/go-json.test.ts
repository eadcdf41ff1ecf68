import { expect } from 'chai';
import { decodeLikeGo, goFoldKey, goUtf8, JsonSyntaxError, MAX_FREE_FORM_DEPTH, parseFirstValue } from '../../../src/facts/go-json';
import { any, array, bool, int, map, ptr, slice, string, strslice, struct, uint } from '../../../src/facts/go-type';

const MOUNT = struct('Mount', { Type: string, Source: string, Target: string, ReadOnly: bool });
const HOST = struct('HostConfig', {
  Privileged: bool,
  Binds: slice(string),
  Links: slice(string),
  PidsLimit: ptr(int),
  Memory: int,
  Mounts: slice(MOUNT),
  CapAdd: strslice,
  ConsoleSize: array(uint, 2),
  StorageOpt: map(string),
  RestartPolicy: struct('RestartPolicy', { Name: string, MaximumRetryCount: int }),
  Extra: any,
});
const BODY = struct('Body', { Image: string, User: string, Labels: map(string), HostConfig: ptr(HOST) });

type Decoded = { Image?: string; User?: string; Labels?: Record<string, string>; HostConfig?: Record<string, unknown> | null };
const decode = (text: string): Decoded => decodeLikeGo(text, BODY).value as Decoded;
const host = (text: string): Record<string, unknown> | null | undefined => decode(text).HostConfig;

describe('facts: reading a body as Go encoding/json reads it', () => {
  describe('field names', () => {
    it('match ASCII letters case-insensitively, an exact match first', () => {
      expect(decode('{"image":"a","IMAGE":"b","hostconfig":{"privileged":true}}')).to.deep.equal({ Image: 'b', HostConfig: { Privileged: true } });
    });

    // Go folds `ſ` (U+017F) to s and the Kelvin sign (U+212A) to k; no other non-ASCII letter matches a field.
    const table: Array<[key: string, matches: boolean]> = [
      ['Bindſ', true],
      ['LinKs', true],
      ['Prıvileged', false], // dotless ı
      ['PrİvIleged', false], // dotted İ
      ['Privileged\u0307', false],
      ['Pr\u0131vileged', false],
      ['ＰRIVILEGED', false], // fullwidth P
    ];
    for (const [key, matches] of table) {
      it(`${JSON.stringify(key)} ${matches ? 'matches' : 'matches no field'}`, () => {
        const value = key.startsWith('Bind') ? '["/:/h"]' : key.startsWith('Lin') ? '["x"]' : 'false';
        const decoded = host(`{"HostConfig":{"Privileged":true,${JSON.stringify(key)}:${value}}}`)!;
        if (matches) expect(Object.keys(decoded)).to.have.length(2);
        else expect(decoded).to.deep.equal({ Privileged: true });
      });
    }

    it('ignores keys that fold to no field instead of keeping them', () => {
      expect(host('{"HostConfig":{"Privileged":true,"SomethingElse":1,"__proto__":{"Privileged":false}}}')).to.deep.equal({ Privileged: true });
      expect(goFoldKey('privileged')).to.equal('PRIVILEGED');
      expect(goFoldKey('ſecurityOpt')).to.equal('SECURITYOPT');
    });
  });

  describe('a key given twice', () => {
    it('merges structs and pointers to structs, in both orders', () => {
      expect(host('{"HostConfig":{"Privileged":true},"hostconfig":{"Memory":1}}')).to.deep.equal({ Privileged: true, Memory: 1 });
      expect(host('{"HostConfig":{"Memory":1},"HostConfig":{"Privileged":true}}')).to.deep.equal({ Privileged: true, Memory: 1 });
    });

    it('lets the later scalar win', () => {
      expect(host('{"HostConfig":{"privileged":false,"Privileged":true}}')).to.deep.equal({ Privileged: true });
      expect(host('{"HostConfig":{"Privileged":true,"privileged":false}}')).to.deep.equal({ Privileged: false });
    });

    it('merges maps key by key', () => {
      expect(decode('{"Labels":{"a":"1"},"labels":{"b":"2","a":"3"}}').Labels).to.deep.equal({ a: '3', b: '2' });
    });

    it('decodes slice elements in place, stale backing elements included, as reflect does', () => {
      const mounts = host(
        '{"HostConfig":{"Mounts":[{"Type":"bind","Source":"/etc","Target":"/h"},{"Type":"bind","Source":"/root","Target":"/r"}]},' +
          '"HostConfig":{"Mounts":[{"Type":"volume"}]},"HostConfig":{"Mounts":[{},{}]}}',
      )!['Mounts'];
      expect(mounts).to.deep.equal([
        { Type: 'volume', Source: '/etc', Target: '/h' },
        { Type: 'bind', Source: '/root', Target: '/r' },
      ]);
      // An empty list resets the slice (MakeSlice(0, 0)): nothing stale survives it.
      expect(host('{"HostConfig":{"Mounts":[{"Source":"/etc"}]},"HostConfig":{"Mounts":[]},"HostConfig":{"Mounts":[{}]}}')!['Mounts']).to.deep.equal([{}]);
      // Growing past the capacity (4, then 6) copies only the visible elements.
      const grown = host(`{"HostConfig":{"Binds":["a","b","c","d","e"]},"HostConfig":{"Binds":["x"]},"HostConfig":{"Binds":[null,null]}}`)!['Binds'];
      expect(grown).to.deep.equal(['x', 'b']);
    });
  });

  describe('null', () => {
    it('is ignored for bools, numbers, strings and struct values', () => {
      expect(host('{"HostConfig":{"Privileged":true,"privileged":null,"Memory":5,"memory":null,"RestartPolicy":{"Name":"always"},"restartpolicy":null}}')).to.deep.equal({
        Privileged: true,
        Memory: 5,
        RestartPolicy: { Name: 'always' },
      });
      expect(host('{"HostConfig":{"ConsoleSize":[1,2],"ConsoleSize":null}}')).to.deep.equal({ ConsoleSize: [1, 2] });
    });

    it('sets pointers, slices, maps and interfaces to nil', () => {
      expect(decode('{"HostConfig":{"Privileged":true},"HostConfig":null}').HostConfig).to.equal(null);
      expect(host('{"HostConfig":{"PidsLimit":5,"Binds":["/:/h"],"StorageOpt":{"a":"b"},"Extra":1,"PidsLimit":null,"Binds":null,"StorageOpt":null,"Extra":null}}')).to.deep.equal({
        PidsLimit: null,
        Binds: null,
        StorageOpt: null,
        Extra: null,
      });
    });

    it('keeps a slice element when the element is null', () => {
      expect(host('{"HostConfig":{"Binds":["/etc:/h"]},"HostConfig":{"Binds":[null]}}')).to.deep.equal({ Binds: ['/etc:/h'] });
    });
  });

  describe('custom decoders and fixed arrays', () => {
    it('reads a StrSlice from a string or a list', () => {
      expect(host('{"HostConfig":{"CapAdd":"ALL"}}')).to.deep.equal({ CapAdd: ['ALL'] });
      expect(host('{"HostConfig":{"CapAdd":["A",null]}}')).to.deep.equal({ CapAdd: ['A', ''] });
      expect(decodeLikeGo('{"HostConfig":{"CapAdd":[1]}}', BODY).typeError).to.match(/CapAdd/);
    });

    it('fills a fixed array, ignoring extra items and zeroing missing ones', () => {
      expect(host('{"HostConfig":{"ConsoleSize":[1,2,3]}}')).to.deep.equal({ ConsoleSize: [1, 2] });
      expect(host('{"HostConfig":{"ConsoleSize":[7]}}')).to.deep.equal({ ConsoleSize: [7, 0] });
    });
  });

  describe('type errors (dockerd rejects the request)', () => {
    const table: Array<[body: string, where: RegExp]> = [
      ['{"HostConfig":{"Privileged":"true"}}', /HostConfig\.Privileged: cannot read string as bool/],
      ['{"HostConfig":{"Memory":1.5}}', /HostConfig\.Memory/],
      ['{"HostConfig":{"ConsoleSize":[-1,0]}}', /ConsoleSize\[0\]/],
      ['{"HostConfig":{"Binds":"/etc:/h"}}', /HostConfig\.Binds: cannot read string as array/],
      ['{"HostConfig":[]}', /HostConfig: cannot read array as object/],
      ['{"Labels":{"a":1}}', /Labels\["a"\]/],
      ['"just a string"', /body: cannot read string as object/],
    ];
    for (const [body, where] of table) {
      it(body, () => expect(decodeLikeGo(body, BODY).typeError).to.match(where));
    }

    it('reports the first one and still decodes the rest', () => {
      const decoded = decodeLikeGo('{"HostConfig":{"Privileged":"yes","Memory":"x","Binds":["/:/h"]}}', BODY);
      expect(decoded.typeError).to.match(/Privileged/);
      expect((decoded.value as Decoded).HostConfig).to.deep.equal({ Binds: ['/:/h'] });
    });
  });

  describe('the text', () => {
    it('reads only the first value, as json.Decoder does (dockerd 20.10 ignores the rest)', () => {
      expect(host('{"HostConfig":{"Privileged":true}} trailing')).to.deep.equal({ Privileged: true });
      expect(host('{"HostConfig":{"Privileged":true}}{"HostConfig":{"Privileged":false}}')).to.deep.equal({ Privileged: true });
      expect(host(' \n{"HostConfig":{"Privileged":true}}\n')).to.deep.equal({ Privileged: true });
    });

    it('accepts nesting up to 10,000 levels and refuses deeper, as Go does', () => {
      const nested = (depth: number): string => `{"Image":"x","Skipped":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
      expect(decode(nested(10_000)).Image).to.equal('x');
      expect(() => decode(nested(10_001))).to.throw(JsonSyntaxError, /exceeded max depth/);
    });

    it('refuses to judge a free-form value nested deeper than its own limit', () => {
      const deep = `{"HostConfig":{"Extra":${'['.repeat(MAX_FREE_FORM_DEPTH + 2)}${']'.repeat(MAX_FREE_FORM_DEPTH + 2)}}}`;
      expect(decodeLikeGo(deep, BODY).refused).to.match(/Extra: nested deeper than/);
    });

    it('replaces bad UTF-8 byte by byte and lone surrogate escapes with U+FFFD, as Go does', () => {
      expect(goUtf8(Buffer.from([0x61, 0xe2, 0x82, 0x62, 0xed, 0xa0, 0x80, 0xff]))).to.equal('a\uFFFD\uFFFDb\uFFFD\uFFFD\uFFFD\uFFFD');
      expect(goUtf8(Buffer.from('héllo ☃ 😀'))).to.equal('héllo ☃ 😀');
      expect(decode('{"Image":"a\\ud800b\\udc00c\\ud83d\\ude00"}').Image).to.equal('a\uFFFDb\uFFFDc😀');
      expect(decode('{"Labels":{"k\\ud800":"v"}}').Labels).to.deep.equal({ 'k\uFFFD': 'v' });
    });

    it('throws a syntax error with its offset where Go fails to parse', () => {
      for (const text of ['{"Image":}', '{"Image":"x"', '{"Image":"a\u0001"}', '{"Image":"\\q"}', '', '{"Image":01}']) {
        expect(() => parseFirstValue(text), JSON.stringify(text)).to.throw(JsonSyntaxError);
      }
    });

    it('keeps __proto__ keys as data (a label named __proto__ is a label)', () => {
      const labels = decode('{"Labels":{"__proto__":"v","x":"y"}}').Labels!;
      expect(Object.keys(labels)).to.deep.equal(['__proto__', 'x']);
      expect(Object.getPrototypeOf(labels)).to.equal(Object.prototype);
    });
  });
});
