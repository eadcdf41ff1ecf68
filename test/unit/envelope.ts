/** An AuthZ envelope as dockerd sends it: a TLS caller has a name and a method, the unix socket's has neither. */
export function envelopeBytes(method: string, uri: string, body?: unknown, user = ''): Buffer {
  return Buffer.from(
    JSON.stringify({
      User: user,
      UserAuthNMethod: user === '' ? '' : 'TLS',
      RequestMethod: method,
      RequestUri: uri,
      RequestHeaders: { 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { RequestBody: Buffer.from(JSON.stringify(body)).toString('base64') }),
    }),
  );
}
