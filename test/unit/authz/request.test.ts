import { expect } from 'chai';
import { buildRequest, missingBodyReason, parseEnvelope, type AuthzEnvelope } from '../../../src/authz/request';
import { actionOf } from '../../../src/authz/routes';
import type { Request } from '../../../src/rules/api';

function envelope(fields: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify({ User: '', UserAuthNMethod: '', RequestMethod: 'GET', RequestUri: '/v1.41/containers/json', RequestHeaders: {}, ...fields }));
}

function parsed(fields: Record<string, unknown>): { envelope: AuthzEnvelope; request: Request } {
  const result = parseEnvelope(envelope(fields));
  if (!result.ok) throw new Error(result.problem);
  const request = buildRequest(result.value);
  if (!request.ok) throw new Error(request.problem);
  return { envelope: result.value, request: request.value };
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');

describe('AuthZ envelopes and requests', () => {
  it('maps routes to named actions', () => {
    expect(actionOf('POST', '/containers/create')).to.equal('containersCreate');
    expect(actionOf('PUT', '/containers/abc/archive')).to.equal('containersArchive');
    expect(actionOf('POST', '/containers/abc/exec')).to.equal('execCreate');
    expect(actionOf('POST', '/images/create')).to.equal('imagesCreate');
    expect(actionOf('POST', '/volumes/create')).to.equal('volumesCreate');
    expect(actionOf('DELETE', '/images/registry.example:5000/team/app:1')).to.equal('imagesRemove');
    expect(actionOf('POST', '/networks/create')).to.equal('networksCreate');
    expect(actionOf('GET', '/nope')).to.equal('unknown');
  });

  it('builds the Request a rule sees', () => {
    const { request } = parsed({
      User: 'alice',
      UserAuthNMethod: 'TLS',
      RequestMethod: 'POST',
      RequestUri: '/v1.41/containers/create?name=web&label=a&label=b',
      RequestHeaders: { 'Content-Type': 'application/json' },
      RequestBody: b64({ Image: 'busybox', hostconfig: { privileged: true } }),
    });
    expect(request).to.include({ method: 'POST', path: '/containers/create', apiVersion: '1.41', action: 'containersCreate', user: 'alice', authMethod: 'TLS' });
    expect(request.query).to.deep.equal({ name: 'web', label: ['a', 'b'] });
    expect(request.body).to.deep.equal({ Image: 'busybox', HostConfig: { Privileged: true } });
  });

  it('names the problem of a malformed envelope', () => {
    const problem = (body: Buffer): string => {
      const result = parseEnvelope(body);
      return result.ok ? 'ok' : result.problem;
    };
    expect(problem(Buffer.from('not json'))).to.match(/^envelope is not JSON/);
    expect(problem(Buffer.from('[1]'))).to.equal('envelope must be a JSON object');
    expect(problem(Buffer.from('{}'))).to.equal('RequestMethod is missing; RequestUri is missing');
    expect(problem(envelope({ RequestBody: '%%%' }))).to.equal('RequestBody is not valid base64');
    const notJson = parseEnvelope(envelope({ RequestMethod: 'POST', RequestUri: '/containers/create', RequestBody: Buffer.from('{oops').toString('base64') }));
    expect(notJson.ok && buildRequest(notJson.value)).to.deep.include({ ok: false });
  });

  it('flags a mutating JSON request whose body was not forwarded', () => {
    const chunked = parsed({ RequestMethod: 'POST', RequestUri: '/containers/create', RequestHeaders: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } });
    expect(missingBodyReason(chunked.request, chunked.envelope)).to.include('chunked');
    const large = parsed({ RequestMethod: 'POST', RequestUri: '/v1.41/networks/create', RequestHeaders: { 'Content-Type': 'application/json', 'Content-Length': '2000000' } });
    expect(missingBodyReason(large.request, large.envelope)).to.include('> 1 MiB');
    const zero = parsed({ RequestMethod: 'POST', RequestUri: '/containers/create', RequestHeaders: { 'Content-Type': 'application/json', 'Content-Length': '0' } });
    expect(missingBodyReason(zero.request, zero.envelope)).to.include('containersCreate request without a body');
    const tar = parsed({ RequestMethod: 'PUT', RequestUri: '/containers/x/archive?path=/', RequestHeaders: { 'Content-Type': 'application/x-tar', 'Content-Length': '10240' } });
    expect(missingBodyReason(tar.request, tar.envelope)).to.equal(undefined);
    const start = parsed({ RequestMethod: 'POST', RequestUri: '/containers/x/start' });
    expect(missingBodyReason(start.request, start.envelope)).to.equal(undefined);
  });

  it('hands the sandbox JSON that reads back as the request, body text spliced in or not', () => {
    const cases: Array<Record<string, unknown>> = [
      {},
      { RequestMethod: 'POST', RequestUri: '/v1.41/containers/create?name=a', RequestBody: b64({ Image: 'busybox', HostConfig: { Privileged: true } }) },
      { RequestMethod: 'POST', RequestUri: '/v1.41/containers/create', RequestBody: Buffer.from('{"image":"x", "hostconfig":{"privileged":true},"HostConfig":{"Memory":1}}').toString('base64') },
      { RequestMethod: 'POST', RequestUri: '/v1.41/networks/create', RequestBody: Buffer.from(' {"Name" : "n", "n\\u00e9": [1, 2.5e3, null]} ').toString('base64') },
      { RequestMethod: 'POST', RequestUri: '/v1.41/volumes/create', RequestBody: Buffer.from('"just a string"').toString('base64') },
    ];
    for (const fields of cases) {
      const result = parseEnvelope(envelope(fields));
      if (!result.ok) throw new Error(result.problem);
      const built = buildRequest(result.value);
      if (!built.ok) throw new Error(built.problem);
      expect(JSON.parse(built.json)).to.deep.equal(JSON.parse(JSON.stringify(built.value)), JSON.stringify(fields));
    }
  });

  it('refuses base64 that does not re-encode to itself', () => {
    const result = parseEnvelope(envelope({ RequestMethod: 'POST', RequestBody: 'eyJ9=' }));
    expect(result.ok).to.equal(false);
    const spaced = parseEnvelope(envelope({ RequestMethod: 'POST', RequestBody: 'e yJ9' }));
    expect(spaced.ok).to.equal(false);
  });
});
