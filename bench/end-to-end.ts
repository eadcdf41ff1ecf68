/**
 * Docker API calls timed through a throwaway dockerd's unix socket, for the end-to-end parts of
 * bench:authz (what a plugin adds to each call is the difference between passes with and without it).
 */
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { TestEngine } from '../test/integration/engine';
import { percentile } from './load';

export function dockerCall(engine: TestEngine, method: string, uri: string, body?: unknown): Promise<{ status: number; text: string; ms: number }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath: engine.socketPath, method, path: uri, headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {} },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, ms: performance.now() - started }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** p50 (ms) of `rounds` GET /containers/json and of rounds/10 create+remove of a compliant container. */
export async function endToEnd(engine: TestEngine, rounds: number): Promise<{ list: number; create: number }> {
  const list: number[] = [];
  const create: number[] = [];
  for (let i = 0; i < rounds; i++) list.push((await dockerCall(engine, 'GET', '/v1.41/containers/json')).ms);
  for (let i = 0; i < Math.ceil(rounds / 10); i++) {
    const started = performance.now();
    const created = await dockerCall(engine, 'POST', `/v1.41/containers/create?name=bench-${i}`, {
      Image: engine.image,
      Cmd: ['sleep', '1'],
      Labels: { team: 'bench' },
      User: '1000',
      HostConfig: { NetworkMode: 'none', Memory: 64 * 1024 * 1024, RestartPolicy: { Name: 'no' } },
    });
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${created.text}`);
    const id = (JSON.parse(created.text) as { Id: string }).Id;
    await dockerCall(engine, 'DELETE', `/v1.41/containers/${id}?force=1`);
    create.push(performance.now() - started);
  }
  list.sort((a, b) => a - b);
  create.sort((a, b) => a - b);
  return { list: percentile(list, 50), create: percentile(create, 50) };
}
