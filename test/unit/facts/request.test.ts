import { expect } from 'chai';
import { compareApiVersions, runsBelow } from '../../../src/facts/api-version';
import { parseEnvelope, type AuthzEnvelope } from '../../../src/facts/envelope';
import { requestFacts, type RequestFacts } from '../../../src/facts/request';
import { cleanPath, formValue, parseGoQuery, parseRequestTarget } from '../../../src/facts/request-uri';
import { routeOf } from '../../../src/facts/routes';

function envelopeOf(fields: Record<string, unknown>): AuthzEnvelope {
  const result = parseEnvelope(Buffer.from(JSON.stringify({ User: '', UserAuthNMethod: '', RequestMethod: 'GET', RequestUri: '/v1.41/containers/json', RequestHeaders: {}, ...fields })));
  if (!result.ok) throw new Error(result.problem);
  return result.value;
}

const JSON_HEADERS = (body: string): Record<string, string> => ({ 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });

function factsOf(method: string, uri: string, body?: string, headers?: Record<string, string>): RequestFacts {
  return requestFacts(
    envelopeOf({
      RequestMethod: method,
      RequestUri: uri,
      RequestHeaders: headers ?? (body === undefined ? { 'Content-Length': '0' } : JSON_HEADERS(body)),
      ...(body === undefined ? {} : { RequestBody: Buffer.from(body).toString('base64') }),
    }),
  );
}

describe('facts: the request target as dockerd reads it', () => {
  const targets: Array<[uri: string, path: string, query: Record<string, string[]>]> = [
    ['/v1.41/containers/create?name=a', '/v1.41/containers/create', { name: ['a'] }],
    ['/v1%2E41/containers/create', '/v1.41/containers/create', {}],
    ['http://docker/v1.41/containers/create?name=x', '/v1.41/containers/create', { name: ['x'] }],
    ['HTTP://user@host:1/v1.41/info', '/v1.41/info', {}],
    ['/containers/a%2Fb/json', '/containers/a/b/json', {}],
    ['/containers/create#x', '/containers/create#x', {}],
    ['/v1.41/containers\\create', '/v1.41/containers\\create', {}],
    ['/build?remote=a+b&t=x%20y&t=z', '/build', { remote: ['a b'], t: ['x y', 'z'] }],
    ['/containers/create?', '/containers/create', {}],
    ['x:opaque', '', {}],
    ['*', '*', {}],
  ];
  for (const [uri, path, query] of targets) {
    it(`${uri} -> ${path}`, () => {
      const parsed = parseRequestTarget(uri);
      expect(parsed.ok).to.equal(true);
      if (!parsed.ok) return;
      expect(parsed.value.path).to.equal(path);
      expect({ ...parsed.value.query }).to.deep.equal(query);
    });
  }

  it('refuses what Go refuses: bad escapes in the path, control characters, a relative target', () => {
    for (const uri of ['/containers/%zz/json', '/a\nb', '', 'containers/json']) expect(parseRequestTarget(uri).ok, JSON.stringify(uri)).to.equal(false);
  });

  it('parses the query as url.ParseQuery: semicolons and bad escapes are errors, the first value is what dockerd reads', () => {
    expect(parseGoQuery('name=a;name=b').error).to.match(/semicolon/);
    expect(parseGoQuery('name=%zz&x=1')).to.deep.include({ error: 'invalid URL escape in query pair "name=%zz"' });
    const { query } = parseGoQuery('name=good&name=docker_enforcer');
    expect(formValue(query, 'name')).to.equal('good');
    expect(formValue(query, 'missing')).to.equal('');
    expect(formValue(parseGoQuery('__proto__=x').query, 'toString')).to.equal('');
  });

  it('cleans paths as gorilla/mux does before redirecting', () => {
    expect(cleanPath('/v1.41//containers/./x/../json')).to.equal('/v1.41/containers/json');
    expect(cleanPath('/a/b/')).to.equal('/a/b/');
    expect(cleanPath('')).to.equal('/');
  });
});

describe('facts: routes as dockerd routes them', () => {
  const table: Array<[method: string, path: string, action: string, vars?: Record<string, string>, apiVersion?: string]> = [
    ['POST', '/v1.41/containers/create', 'containersCreate', {}, '1.41'],
    ['POST', '/v1.41.0/containers/create', 'containersCreate', {}, '1.41.0'],
    ['POST', '/v1.23/containers/web/start', 'containersStart', { name: 'web' }, '1.23'],
    ['POST', '/v9/containers/web/start', 'containersStart', { name: 'web' }, '9'],
    ['POST', '/containers/create', 'containersCreate', {}, ''],
    ['GET', '/containers/a/b/json', 'containersInspect', { name: 'a/b' }],
    ['GET', '/containers/json', 'containersList', {}],
    ['GET', '/containers/a\rb/json', 'containersInspect', { name: 'a\rb' }],
    ['GET', '/containers/a\nb/json', 'unknown'],
    ['DELETE', '/containers/web/checkpoints/c1', 'containersCheckpointDelete', { name: 'web', checkpoint: 'c1' }],
    ['DELETE', '/containers/web', 'containersRemove', { name: 'web' }],
    ['PUT', '/v1.41/containers/x/archive', 'containersArchive', { name: 'x' }],
    ['POST', '/containers/abc/exec', 'execCreate', { name: 'abc' }],
    ['GET', '/networks/', 'networksList', {}],
    ['GET', '/networks/n1', 'networksInspect', { id: 'n1' }],
    ['DELETE', '/images/registry.example:5000/team/app:1', 'imagesRemove', { name: 'registry.example:5000/team/app:1' }],
    ['GET', '/images/x/attestations', 'imagesAttestations', { name: 'x' }],
    ['GET', '/debug/vars', 'debugVars', {}],
    ['POST', '/debug/pprof/heap', 'debugPprof', { name: 'heap' }],
    ['DELETE', '/debug/pprof/profile', 'debugPprof', {}],
    ['OPTIONS', '/v1.41/anything/at/all', 'options', { anyroute: 'anything/at/all' }],
    ['GET', '/Containers/json', 'unknown'],
    ['post', '/containers/create', 'unknown'],
    ['GET', '/nope', 'unknown'],
  ];
  for (const [method, path, action, vars, apiVersion] of table) {
    it(`${method} ${JSON.stringify(path)} -> ${action}`, () => {
      const route = routeOf(method, path);
      expect(route.action).to.equal(action);
      if (vars) expect(route.vars).to.deep.equal(vars);
      if (apiVersion !== undefined) expect(route.apiVersion).to.equal(apiVersion);
    });
  }

  it('puts every action in exactly one namespace', () => {
    expect(routeOf('POST', '/containers/x/exec').namespace).to.equal('exec');
    expect(routeOf('GET', '/debug/vars').namespace).to.equal('debug');
    expect(routeOf('GET', '/nope').namespace).to.equal('unknown');
  });
});

describe('facts: API versions as dockerd compares them', () => {
  const table: Array<[a: string, b: string, result: number]> = [
    ['1.41', '1.41.0', 0],
    ['1.23.9', '1.24', -1],
    ['1.40', '1.9', 1],
    ['1..41', '1.12', -1],
    ['99999999999999999999.0', '1.0', -1],
    ['2', '1.99', 1],
  ];
  for (const [a, b, result] of table) it(`${a} vs ${b}`, () => expect(compareApiVersions(a, b)).to.equal(result));

  it('treats a request without a prefix as running at the engine version', () => {
    expect(runsBelow('', '1.24')).to.equal(false);
    expect(runsBelow('1.23', '1.24')).to.equal(true);
  });
});

describe('facts: request bodies', () => {
  it('decodes every JSON body dockerd decodes, not only create and update', () => {
    expect(factsOf('POST', '/v1.41/containers/c/exec', '{"user":"root","cmd":["sh"],"PRIVILEGED":true}').request.body).to.deep.equal({ User: 'root', Cmd: ['sh'], Privileged: true });
    // exec's Cmd is a plain []string (no StrSlice): a string is a type error dockerd rejects.
    expect(factsOf('POST', '/v1.41/containers/c/exec', '{"Cmd":"sh"}').unreadable.join()).to.match(/Cmd: cannot read string as array/);
    const service = factsOf('POST', '/services/create', '{"taskTemplate":{"containerSpec":{"image":"x","mounts":[{"type":"bind","source":"/etc","target":"/h"}]}}}').request.body;
    expect(service).to.deep.equal({ TaskTemplate: { ContainerSpec: { Image: 'x', Mounts: [{ Type: 'bind', Source: '/etc', Target: '/h' }] } } });
    expect(factsOf('POST', '/volumes/create', '{"name":"v","driveropts":{"Device":"/etc","o":"bind"}}').request.body).to.deep.equal({ Name: 'v', DriverOpts: { Device: '/etc', o: 'bind' } });
  });

  it("presents a create body's HostConfig as dockerd uses it, top-level fields merged", () => {
    const facts = factsOf('POST', '/v1.41/containers/create?name=x', '{"Image":"i","Privileged":true,"Binds":["/etc:/h"]}');
    expect(facts.request.body).to.deep.equal({ Image: 'i', HostConfig: { Privileged: true, Binds: ['/etc:/h'], NetworkMode: 'default' } });
    expect(facts.unreadable).to.deep.equal([]);
  });

  it('reports what it cannot read as dockerd reads it, naming the culprit', () => {
    const table: Array<[string, string | undefined, RegExp]> = [
      ['/containers/create', '{"Image":', /not valid JSON/],
      ['/containers/create', '{"HostConfig":{"Privileged":"yes"}}', /HostConfig\.Privileged: cannot read string as bool/],
      ['/containers/create?name=a;b', '{"Image":"x"}', /semicolon/],
      ['/containers/%zz/update', '{}', /invalid escape/],
    ];
    for (const [uri, body, problem] of table) {
      const facts = factsOf('POST', uri, body);
      expect(facts.unreadable.join(' | '), uri).to.match(problem);
    }
    // Trailing data after the first value is what dockerd 20.10 ignores: readable.
    expect(factsOf('POST', '/containers/create', '{"Image":"x"} {"HostConfig":{}}').unreadable).to.deep.equal([]);
    // A body dockerd never reads cannot hide anything: not reported.
    expect(factsOf('POST', '/containers/x/stop', '{oops').unreadable).to.deep.equal([]);
  });

  it('reports form values in a body, which dockerd merges over the query', () => {
    const facts = factsOf('POST', '/images/create?fromImage=good', undefined, { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': '14' });
    expect(facts.unreadable.join()).to.match(/form/);
  });
});

describe('facts: bodies dockerd reads but never forwarded (the body guard)', () => {
  const cases: Array<[what: string, method: string, uri: string, headers: Record<string, string>, missing: RegExp | undefined]> = [
    ['create without a body', 'POST', '/containers/create', { 'Content-Type': 'application/json', 'Content-Length': '0' }, /containersCreate request without a body/],
    ['create sent chunked (no length, no Transfer-Encoding left)', 'POST', '/v1.41/containers/create', { 'Content-Type': 'application/json' }, /without a body/],
    ['volume create sent chunked', 'POST', '/volumes/create', { 'Content-Type': 'application/json' }, /volumesCreate request without Content-Length/],
    ['volume create over 1 MiB', 'POST', '/volumes/create', { 'Content-Type': 'application/json', 'Content-Length': '2000000' }, /2000000 bytes was not forwarded/],
    ['volume create with no body at all', 'POST', '/volumes/create', { 'Content-Length': '0' }, undefined],
    ['network create as text/plain', 'POST', '/networks/create', { 'Content-Type': 'text/plain', 'Content-Length': '40' }, /40 bytes was not forwarded/],
    ['update with a URI ending in /auth', 'POST', '/containers/x/update?a=/auth', { 'Content-Type': 'application/json', 'Content-Length': '30' }, /30 bytes was not forwarded/],
    ['legacy start with a chunked body', 'POST', '/v1.23/containers/x/start', { 'Content-Type': 'application/json' }, /containersStart request without Content-Length/],
    ['modern start without a body', 'POST', '/v1.41/containers/x/start', { 'Content-Length': '0' }, undefined],
    ['modern start without Content-Length', 'POST', '/containers/x/start', {}, undefined],
    ['tar upload', 'PUT', '/containers/x/archive?path=/', { 'Content-Type': 'application/x-tar', 'Content-Length': '10240' }, undefined],
    ['stop with a JSON length', 'POST', '/containers/x/stop', { 'Content-Type': 'application/json', 'Content-Length': '5' }, /Content-Length 5/],
    ['GET', 'GET', '/containers/json', {}, undefined],
  ];
  for (const [what, method, uri, headers, missing] of cases) {
    it(what, () => {
      const facts = factsOf(method, uri, undefined, headers);
      if (missing) expect(facts.missingBody).to.match(missing);
      else expect(facts.missingBody).to.equal(undefined);
    });
  }
});
