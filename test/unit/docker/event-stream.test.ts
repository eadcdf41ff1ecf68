import { PassThrough, type Readable } from 'node:stream';
import { expect } from 'chai';
import pino from 'pino';
import type { DockerClient, EventsOptions } from '../../../src/docker/client';
import { ContainerEventStream, type ContainerEvent } from '../../../src/docker/event-stream';

/** Hands out one scripted stream per events() call and records the options asked for. */
function fakeDocker(streams: PassThrough[]): { docker: DockerClient; calls: EventsOptions[] } {
  const calls: EventsOptions[] = [];
  const docker = {
    async events(options: EventsOptions): Promise<Readable> {
      calls.push(options);
      const stream = streams.shift();
      if (!stream) throw new Error('dockerd is down');
      return stream;
    },
  } as unknown as DockerClient;
  return { docker, calls };
}

const line = (id: string, action: string, timeNano: bigint): string =>
  `${JSON.stringify({ Type: 'container', Action: action, Actor: { ID: id, Attributes: { name: id } }, timeNano: Number(timeNano) })}\n`;

const tick = (ms = 20): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('container event stream', () => {
  it('delivers out-of-order events, resumes after a drop with since, and skips what is replayed', async () => {
    const first = new PassThrough();
    const second = new PassThrough();
    const { docker, calls } = fakeDocker([first, second]);
    const stream = new ContainerEventStream({ docker, log: pino({ level: 'silent' }), actions: ['start'], backoffInitialMs: 10 });
    const seen: ContainerEvent[] = [];
    const resyncs: string[] = [];
    stream.onEvent((event) => seen.push(event));
    stream.onResync((reason) => resyncs.push(reason));
    stream.start();
    await tick();
    const t = 1_700_000_000_000_000_000n;
    first.write(line('b', 'start', t + 5n) + line('a', 'start', t + 1n));
    await tick();
    first.end();
    await tick(60);
    expect(calls).to.have.length(2);
    expect(calls[0]!.since).to.equal(undefined);
    // Two seconds before the newest event seen (timeNano arrives as a JSON number, so nanoseconds are approximate).
    expect(calls[1]!.since).to.match(/^1699999998\.\d{9}$/);
    second.write(line('a', 'start', t + 1n) + line('b', 'start', t + 5n) + line('c', 'start', t + 9n));
    await tick();
    expect(seen.map((e) => e.id)).to.deep.equal(['b', 'a', 'c']);
    expect(resyncs).to.deep.equal(['event stream started']);
    expect(stream.status().reconnects).to.equal(1);
    stream.stop();
  });

  it('keeps retrying with backoff while dockerd is down', async () => {
    const { docker, calls } = fakeDocker([]);
    const stream = new ContainerEventStream({ docker, log: pino({ level: 'silent' }), actions: ['start'], backoffInitialMs: 5, backoffMaxMs: 20 });
    stream.start();
    await tick(150);
    stream.stop();
    expect(calls.length).to.be.at.least(4);
    expect(stream.status().state).to.equal('stopped');
  });
});
