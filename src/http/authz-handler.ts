/**
 * Docker's authorization plugin protocol, served by a plain node:http handler in front of koa.
 * dockerd calls AuthZReq and AuthZRes around every API call, so this path is hot: koa's middleware
 * chain, async body iteration and response handling cost ~75 µs per request here (measured: 8.6k vs
 * 20k req/s for an empty reply), more than deciding the request itself. Everything else (pages,
 * /metrics, /health) stays in koa.
 *
 * The envelope is parsed as JSON whatever its Content-Type (dockerd sends
 * application/vnd.docker.plugins.v1.2+json), and every answer is 200 JSON: a plugin error would make
 * dockerd fail the user's call with an opaque message.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { AuthzCaller, AuthzService } from '../modes/authz';
import { errorMessage } from '../util/errors';

// dockerd forwards at most 1 MiB of body, base64-encoded inside the envelope: 4 MiB is ample.
export const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;

const ACTIVATE_REPLY = JSON.stringify({ Implements: ['authz'] });
const ALLOW_REPLY = JSON.stringify({ Allow: true });
const PLUGIN_PATHS = new Set(['/Plugin.Activate', '/AuthZPlugin.AuthZReq', '/AuthZPlugin.AuthZRes']);

function send(res: ServerResponse, status: number, body: string, extraHeaders: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...extraHeaders });
  res.end(body);
}

/** Collects the body; `undefined` when it exceeded `limit` (the rest is drained, not kept). */
function readBody(req: IncomingMessage, limit: number, done: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  });
  req.on('end', () => done(size > limit ? undefined : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  // A client that goes away mid-body gets no answer; nothing else to do.
  req.on('error', () => undefined);
}

export interface AuthzHandlerOptions {
  /** Serve the plugin endpoints at all on this listener (AUTHZ_ON_HTTP_PORT for the TCP one). */
  readonly serve: boolean;
  /** Who may call them (AUTHZ_ALLOWED_PEERS on TCP; everyone on the unix socket, guarded by its file mode). */
  readonly allowPeer: (req: IncomingMessage) => boolean;
  /** Told about each refused caller (counted and logged). */
  readonly onRefused?: (req: IncomingMessage) => void;
  /** Who calls (the AUTHZ_TLS_PORT listener: the host its client certificate names); absent = this host. */
  readonly caller?: (req: IncomingMessage) => AuthzCaller;
}

/** The plugin endpoints; any other request goes to `next` (the koa app). */
export function authzHandler(service: AuthzService, next: RequestListener, options: AuthzHandlerOptions): RequestListener {
  return (req, res) => {
    const url = req.url ?? '';
    if (!options.serve || !PLUGIN_PATHS.has(url)) return next(req, res);
    if (!options.allowPeer(req)) {
      // Forged envelopes would become detections with any owner and fire triggers.
      options.onRefused?.(req);
      req.resume();
      return send(res, 403, JSON.stringify({ error: 'this address may not call the authorization plugin (AUTHZ_ALLOWED_PEERS)' }));
    }
    if (req.method !== 'POST') {
      req.resume();
      return send(res, 405, JSON.stringify({ error: `method ${req.method} not allowed on ${url}` }), { Allow: 'POST' });
    }
    if (url === '/AuthZPlugin.AuthZReq') {
      const caller = options.caller?.(req);
      readBody(req, MAX_ENVELOPE_BYTES, (body) => {
        const decided = body === undefined ? service.authorize(Buffer.alloc(0), `envelope larger than ${MAX_ENVELOPE_BYTES} bytes`, caller) : service.authorize(body, undefined, caller);
        // authorize() is not meant to reject; if it ever does, the answer is a fault's (denied in
        // KILL mode), never an HTTP error and never a blanket allow.
        decided.then(
          (reply) => send(res, 200, JSON.stringify(reply)),
          (err: unknown) => send(res, 200, JSON.stringify(service.faultReply(`authorization plugin error: ${errorMessage(err)}`))),
        );
      });
      return;
    }
    readBody(req, 0, () => send(res, 200, url === '/Plugin.Activate' ? ACTIVATE_REPLY : ALLOW_REPLY));
  };
}
