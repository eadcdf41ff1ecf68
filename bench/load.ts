/**
 * Load-generation helpers shared by the benchmarks: a lean keep-alive HTTP/1.1 client (cheaper per
 * request than any plugin it measures), percentiles, per-process CPU from /proc, and a daemon
 * started in its own process, as in production.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { performance } from 'node:perf_hooks';

export const ROOT = path.resolve(__dirname, '../..');

/** CPU seconds (user + system, all threads) a process has used so far, from /proc. */
export function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Runs `load` and reports how much CPU the plugin process and this client used per request. */
export async function withCpu<T extends { requests: number }>(pluginPid: number, load: () => Promise<T>): Promise<T & { pluginUs: number; clientUs: number }> {
  const pluginBefore = processCpuSeconds(pluginPid);
  const clientBefore = process.cpuUsage();
  const result = await load();
  const client = process.cpuUsage(clientBefore);
  const pluginUs = ((processCpuSeconds(pluginPid) - pluginBefore) * 1e6) / result.requests;
  return { ...result, pluginUs, clientUs: (client.user + client.system) / result.requests };
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** A minimal keep-alive HTTP/1.1 client: one request in flight per connection, no pipelining. */
export class Connection {
  private buffer = '';
  private waiting: ((latencyMs: number) => void) | undefined;
  private sentAt = 0;
  /** Status and body of the last answer (for checking what was decided, not only how fast). */
  lastStatus = 0;
  lastBody = '';
  constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd === -1) return;
      const length = Number(/content-length: *(\d+)/i.exec(this.buffer.slice(0, headerEnd))?.[1] ?? 0);
      if (this.buffer.length < headerEnd + 4 + length) return;
      this.lastStatus = Number(this.buffer.slice(9, 12));
      this.lastBody = this.buffer.slice(headerEnd + 4, headerEnd + 4 + length);
      this.buffer = this.buffer.slice(headerEnd + 4 + length);
      const done = this.waiting;
      this.waiting = undefined;
      done?.(performance.now() - this.sentAt);
    });
    socket.on('close', () => {
      // A connection the server dropped: the request in flight fails loudly instead of hanging.
      const done = this.waiting;
      this.waiting = undefined;
      this.lastStatus = 0;
      this.lastBody = '';
      done?.(Infinity);
    });
  }
  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new Connection(socket)));
      socket.once('error', reject);
    });
  }
  /** The same client over TLS (the handshake done before the first request, as a keep-alive pool would). */
  static openTls(port: number, options: tls.ConnectionOptions): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ ...options, port, host: '127.0.0.1' }, () => resolve(new Connection(socket)));
      socket.once('error', reject);
    });
  }
  get busy(): boolean {
    return this.waiting !== undefined;
  }
  send(request: Buffer): Promise<number> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.sentAt = performance.now();
      this.socket.write(request);
    });
  }
  close(): void {
    this.socket.destroy();
  }
}


/** Resident memory of a process (all threads) and of its child processes (the rule host), in MB, from /proc. */
export function rssMb(pid: number): number {
  const own = (id: number): number => {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${id}/status`, 'utf8'));
      return match ? Number(match[1]) / 1024 : 0;
    } catch {
      return 0;
    }
  };
  let total = own(pid);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parent = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1]);
      if (parent === pid) total += own(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/**
 * Starts a daemon (or any plugin script) in its own process and waits until `ready` answers true
 * (by default: POST /Plugin.Activate on http://127.0.0.1:PORT). A daemon that never gets ready is
 * killed before the error is thrown, so a failed start leaves no process behind.
 */
export async function startDaemon(
  env: Record<string, string>,
  port: number,
  script = path.join(ROOT, 'dist/src/main.js'),
  args: string[] = [],
  ready: () => Promise<boolean> = () => fetch(`http://127.0.0.1:${port}/Plugin.Activate`, { method: 'POST' }).then((r) => r.ok),
): Promise<ChildProcess> {
  // BENCH_DAEMON_NODE_ARGS (e.g. --cpu-prof) profiles the daemon under load.
  const nodeArgs = (process.env['BENCH_DAEMON_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}`);
    if (await ready().catch(() => false)) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('daemon did not come up');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Ends a process this benchmark started: SIGTERM, SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopProcess(child: ChildProcess | undefined, graceMs = 5_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Closed-loop load: `connections` connections from `open`, each sending `request` again as soon as
 * its answer is in, for `seconds`. Throughput and latency percentiles (ms).
 */
export async function closedLoop(open: () => Promise<Connection>, request: Buffer, connections: number, seconds: number): Promise<{ rps: number; p50: number; p99: number; requests: number }> {
  const pool = await Promise.all(Array.from({ length: connections }, () => open()));
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    pool.map(async (connection) => {
      while (performance.now() < deadline) latencies.push(await connection.send(request));
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  pool.forEach((c) => c.close());
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), requests: latencies.length };
}
