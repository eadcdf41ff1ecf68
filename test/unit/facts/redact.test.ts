import { expect } from 'chai';
import { redactCredentials, redactRequest, redactUri } from '../../../src/facts/redact';
import type { Request } from '../../../src/rules/api';

describe('facts: credentials masked before logs, detections and triggers', () => {
  const uris: Array<[uri: string, redacted: string]> = [
    ['/v1.41/build?remote=https%3A%2F%2Fuser%3ATOKEN%40git.example%2Frepo.git&t=app', '/v1.41/build?remote=https%3A%2F%2Fuser%3A***%40git.example%2Frepo.git&t=app'],
    ['/build?remote=https://ghp_secret@git.example/r.git', '/build?remote=https%3A%2F%2F***%40git.example%2Fr.git'],
    ['/build?buildargs=%7B%22TOKEN%22%3A%22s3cret%22%2C%22MODE%22%3A%22prod%22%7D', '/build?buildargs=%7B%22TOKEN%22%3A%22***%22%2C%22MODE%22%3A%22***%22%7D'],
    ['/build?buildargs=not-json', '/build?buildargs=***'],
    ['/images/create?fromSrc=https://u:p@files.example/x.tar&repo=r', '/images/create?fromSrc=https%3A%2F%2Fu%3A***%40files.example%2Fx.tar&repo=r'],
    ['/containers/json?all=1', '/containers/json?all=1'],
    ['/build?remote=git@git.example:org/repo.git', '/build?remote=git@git.example:org/repo.git'],
  ];
  for (const [uri, redacted] of uris) it(uri, () => expect(redactUri(uri)).to.equal(redacted));

  it('masks user info of any scheme in free text', () => {
    expect(redactCredentials('see http://a:b@h/x and ssh://tok@h2')).to.equal('see http://a:***@h/x and ssh://***@h2');
  });

  it('masks headers, query values and secret body fields in a request copy, leaving the original intact', () => {
    const request: Request = {
      method: 'POST',
      uri: '/secrets/create?x=https://a:b@h',
      path: '/secrets/create',
      apiVersion: '',
      query: { x: 'https://a:b@h' },
      action: 'secretsCreate',
      namespace: 'secrets',
      vars: {},
      user: 'alice',
      authMethod: 'TLS',
      host: 'node-1',
      headers: { 'X-Registry-Auth': 'eyJwYXNzIjoieCJ9', 'Content-Type': 'application/json' },
      body: { Name: 's', Data: 'c2VjcmV0' },
      raw: { RequestUri: '/secrets/create?x=https://a:b@h', RequestHeaders: { Authorization: 'Bearer t' } },
    };
    const copy = redactRequest(request);
    expect(copy.uri).to.equal('/secrets/create?x=https%3A%2F%2Fa%3A***%40h');
    expect(copy.query).to.deep.equal({ x: 'https://a:***@h' });
    expect(copy.headers).to.deep.equal({ 'X-Registry-Auth': '***', 'Content-Type': 'application/json' });
    expect(copy.body).to.deep.equal({ Name: 's', Data: '***' });
    expect(copy.raw).to.deep.equal({ RequestUri: '/secrets/create?x=https%3A%2F%2Fa%3A***%40h', RequestHeaders: { Authorization: '***' } });
    expect((request.body as { Data: string }).Data).to.equal('c2VjcmV0');
  });
});
