import { expect } from 'chai';
import request from 'supertest';
import { authzHandler, MAX_ENVELOPE_BYTES } from '../../../src/http/authz-handler';
import type { AuthzReply, AuthzService } from '../../../src/modes/authz';

/** Records what reached the service and answers like it. */
function fakeService(): { service: AuthzService; calls: Array<{ bytes: number; problem?: string }> } {
  const calls: Array<{ bytes: number; problem?: string }> = [];
  const service = {
    authorize: async (body: Buffer, problem?: string): Promise<AuthzReply> => {
      calls.push({ bytes: body.length, problem });
      return problem ? { Allow: false, Msg: problem } : { Allow: true };
    },
    faultReply: (problem: string): AuthzReply => ({ Allow: false, Msg: `the request could not be judged: ${problem}` }),
  } as unknown as AuthzService;
  return { service, calls };
}

const OPEN = { serve: true, allowPeer: () => true };

const koa = (_req: unknown, res: { writeHead(status: number): void; end(body: string): void }): void => {
  res.writeHead(418);
  res.end('koa');
};

describe('AuthZ plugin endpoints (plain node:http in front of koa)', () => {
  it('activates as an authz plugin and allows every response', async () => {
    const { service } = fakeService();
    const handler = authzHandler(service, koa as never, OPEN);
    const activate = await request(handler).post('/Plugin.Activate');
    expect(activate.status).to.equal(200);
    expect(activate.body).to.deep.equal({ Implements: ['authz'] });
    const res = await request(handler).post('/AuthZPlugin.AuthZRes').send({ ResponseBody: 'eA==' });
    expect(res.body).to.deep.equal({ Allow: true });
  });

  it('hands the envelope to the service whatever its Content-Type, and answers in JSON', async () => {
    const { service, calls } = fakeService();
    const res = await request(authzHandler(service, koa as never, OPEN))
      .post('/AuthZPlugin.AuthZReq')
      .set('content-type', 'application/vnd.docker.plugins.v1.2+json')
      .send('{"RequestMethod":"GET","RequestUri":"/_ping"}');
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.equal('application/json');
    expect(res.body).to.deep.equal({ Allow: true });
    expect(calls).to.deep.equal([{ bytes: 45, problem: undefined }]);
  });

  it('answers an oversized envelope with the default action, not an HTTP error', async () => {
    const { service, calls } = fakeService();
    const res = await request(authzHandler(service, koa as never, OPEN)).post('/AuthZPlugin.AuthZReq').send(Buffer.alloc(MAX_ENVELOPE_BYTES + 1, 0x20));
    expect(res.status).to.equal(200);
    expect(calls[0]!.problem).to.equal(`envelope larger than ${MAX_ENVELOPE_BYTES} bytes`);
  });

  it('answers as a fault (denied in KILL mode), never a blanket allow, if deciding ever fails outright', async () => {
    const { service } = fakeService();
    const failing = { ...service, authorize: () => Promise.reject(new Error('metrics registry gone')) } as unknown as AuthzService;
    const res = await request(authzHandler(failing, koa as never, OPEN)).post('/AuthZPlugin.AuthZReq').send('{}');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ Allow: false, Msg: 'the request could not be judged: authorization plugin error: metrics registry gone' });
  });

  it('refuses other methods on plugin paths with 405 JSON, and leaves every other path to koa', async () => {
    const { service } = fakeService();
    const handler = authzHandler(service, koa as never, OPEN);
    const wrong = await request(handler).get('/AuthZPlugin.AuthZReq');
    expect(wrong.status).to.equal(405);
    expect(wrong.headers['allow']).to.equal('POST');
    expect(wrong.body).to.deep.equal({ error: 'method GET not allowed on /AuthZPlugin.AuthZReq' });
    const other = await request(handler).get('/rules');
    expect(other.status).to.equal(418);
  });

  it('refuses callers outside the allowed peers with 403 on every plugin path, counting each', async () => {
    const { service, calls } = fakeService();
    const refused: string[] = [];
    const handler = authzHandler(service, koa as never, { serve: true, allowPeer: () => false, onRefused: (req) => refused.push(req.url ?? '') });
    for (const path of ['/Plugin.Activate', '/AuthZPlugin.AuthZReq', '/AuthZPlugin.AuthZRes']) {
      const res = await request(handler).post(path).send('{"RequestMethod":"GET","RequestUri":"/_ping"}');
      expect(res.status, path).to.equal(403);
      expect(res.body.error).to.match(/AUTHZ_ALLOWED_PEERS/);
    }
    expect(calls).to.deep.equal([]);
    expect(refused).to.deep.equal(['/Plugin.Activate', '/AuthZPlugin.AuthZReq', '/AuthZPlugin.AuthZRes']);
    // The stats API stays open to everyone.
    expect((await request(handler).get('/metrics')).status).to.equal(418);
  });

  it('leaves the plugin paths to koa (404 there) when this listener does not serve them', async () => {
    const { service, calls } = fakeService();
    const handler = authzHandler(service, koa as never, { serve: false, allowPeer: () => true });
    expect((await request(handler).post('/AuthZPlugin.AuthZReq').send('{}')).status).to.equal(418);
    expect(calls).to.deep.equal([]);
  });
});

describe('AuthZ plugin endpoints: the caller', () => {
  it('hands the caller (the AUTHZ_TLS_PORT listener: the certificate host) to the service with every request', async () => {
    const seen: unknown[] = [];
    const service = {
      authorize: async (_body: Buffer, _problem?: string, caller?: unknown): Promise<AuthzReply> => {
        seen.push(caller);
        return { Allow: true };
      },
    } as unknown as AuthzService;
    await request(authzHandler(service, koa as never, { ...OPEN, caller: () => ({ host: 'host-a' }) })).post('/AuthZPlugin.AuthZReq').send('{}');
    await request(authzHandler(service, koa as never, OPEN)).post('/AuthZPlugin.AuthZReq').send('{}');
    expect(seen).to.deep.equal([{ host: 'host-a' }, undefined]);
  });
});
