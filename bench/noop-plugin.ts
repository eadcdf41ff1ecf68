/**
 * The floor for bench:authz: an AuthZ plugin that reads each envelope and allows everything, on
 * plain node:http — what any Node plugin costs before deciding anything.
 * Usage: node dist/bench/noop-plugin.js PORT [SOCKET]  (SOCKET: also serve on that unix socket)
 * With NOOP_TLS_CERT, NOOP_TLS_KEY and NOOP_TLS_CA set, PORT is node:https requiring a client
 * certificate signed by that CA (mutual TLS, as a central AuthZ server); SOCKET stays plain.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { ListenOptions } from 'node:net';

const ACTIVATE = JSON.stringify({ Implements: ['authz'] });
const ALLOW = JSON.stringify({ Allow: true });

const allowEverything: http.RequestListener = (req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    const body = req.url === '/Plugin.Activate' ? ACTIVATE : ALLOW;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
};

function tlsOptions(): https.ServerOptions | undefined {
  const [cert, key, ca] = ['NOOP_TLS_CERT', 'NOOP_TLS_KEY', 'NOOP_TLS_CA'].map((name) => process.env[name] ?? '');
  if (!cert || !key || !ca) return undefined;
  return { cert: readFileSync(cert), key: readFileSync(key), ca: readFileSync(ca), requestCert: true, rejectUnauthorized: true };
}

function serve(address: ListenOptions, tls?: https.ServerOptions): http.Server {
  const server = tls ? https.createServer(tls, allowEverything) : http.createServer(allowEverything);
  server.keepAliveTimeout = 65_000;
  return server.listen(address);
}

const servers = [serve({ port: Number(process.argv[2]), host: '127.0.0.1' }, tlsOptions())];
if (process.argv[3]) servers.push(serve({ path: process.argv[3] }));
process.on('SIGTERM', () => {
  // Idle keep-alive connections would hold close() open for keepAliveTimeout.
  for (const server of servers) {
    server.close();
    server.closeAllConnections();
  }
  process.exit(0);
});
