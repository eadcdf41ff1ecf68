/** Raw Engine API calls on the throwaway engine's socket, bodies sent byte for byte as given. */
import * as http from 'node:http';
import type * as https from 'node:https';
import { testEngine } from './setup';

export interface RawResponse {
  readonly status: number;
  readonly text: string;
}

export interface RawOptions {
  /** Send the body with Transfer-Encoding: chunked instead of a Content-Length. */
  readonly chunked?: boolean;
  readonly headers?: Record<string, string>;
  readonly socketPath?: string;
}

/** `body`: a string or Buffer is sent as is; anything else as JSON. */
export function rawDocker(method: string, uri: string, body?: unknown, options: RawOptions = {}): Promise<RawResponse> {
  return rawRequest(http.request, { socketPath: options.socketPath ?? testEngine().socketPath }, method, uri, body, options);
}

/** How a raw call reaches dockerd: http.request with a socket path, or https.request with TLS options. */
export type RawTransport = (options: https.RequestOptions, callback: (res: http.IncomingMessage) => void) => http.ClientRequest;

/** rawDocker over any transport (`target`: where and how to connect); the body is sent the same way. */
export function rawRequest(
  transport: RawTransport,
  target: https.RequestOptions,
  method: string,
  uri: string,
  body?: unknown,
  options: Pick<RawOptions, 'chunked' | 'headers'> = {},
): Promise<RawResponse> {
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers: Record<string, string | number> = { ...(payload ? { 'content-type': 'application/json' } : {}), ...(options.headers ?? {}) };
  if (payload && !options.chunked) headers['content-length'] = payload.length;
  if (payload && options.chunked) headers['transfer-encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    const req = transport({ ...target, method, path: uri, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    if (payload && options.chunked) {
      // Several chunks, so nothing can mistake it for a sized body.
      for (let offset = 0; offset < payload.length; offset += 65_536) req.write(payload.subarray(offset, offset + 65_536));
      req.end();
    } else {
      req.end(payload);
    }
  });
}

/** The id in a create answer, or undefined. */
export function createdId(response: RawResponse): string | undefined {
  if (response.status !== 201) return undefined;
  return (JSON.parse(response.text) as { Id?: string }).Id;
}
