// Prepares the peer's runs as bench/run prepares Latchkey's: signs the browser in (through the
// one interaction), then writes PEER_OUT/cookie (the Cookie header of that browser), and
// PEER_OUT/refresh_tokens (COUNT refresh tokens from code flows with offline_access), and
// PEER_OUT/access (an opaque client_credentials token, for the introspection scenario).
import { writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';

const { PEER_BASE: base, PEER_SECRET: secret, PEER_OUT: out, PEER_COUNT: count, PEER_VERIFIER: verifier } = process.env;
const jar = new Map();
const basic = 'Basic ' + Buffer.from(`bench:${secret}`).toString('base64');
const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

async function get(path) {
  const r = await fetch(new URL(path, base), { redirect: 'manual', headers: { cookie: cookieHeader() } });
  for (const c of r.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const at = pair.indexOf('=');
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return r;
}

// Follows redirects inside the server until the one to the client; answers its code.
async function code(scope) {
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  let next = `/oauth/authorize?response_type=code&client_id=bench&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb`
    + `&scope=${encodeURIComponent(scope)}&code_challenge=${challenge}&code_challenge_method=S256`
    + `&state=${randomBytes(8).toString('hex')}&prompt=consent`;
  for (let hops = 0; hops < 10; hops += 1) {
    const r = await get(next);
    const location = r.headers.get('location');
    if (!location) throw new Error(`no redirect from ${next}: ${r.status} ${await r.text()}`);
    const url = new URL(location, base);
    if (url.origin === 'http://127.0.0.1' && url.pathname === '/cb') {
      const c = url.searchParams.get('code');
      if (!c) throw new Error(`no code: ${location}`);
      return c;
    }
    next = url.pathname + url.search;
  }
  throw new Error('too many redirects');
}

async function token(body) {
  const r = await fetch(new URL('/oauth/token', base), {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });
  const json = await r.json();
  if (!r.ok) throw new Error(`token: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

const tokens = [];
for (let i = 0; i < Number(count); i += 1) {
  const c = await code('openid offline_access');
  const t = await token({ grant_type: 'authorization_code', code: c, redirect_uri: 'http://127.0.0.1/cb', code_verifier: verifier });
  if (!t.refresh_token) throw new Error(`no refresh token: ${JSON.stringify(t)}`);
  tokens.push(t.refresh_token);
}
writeFileSync(`${out}/refresh_tokens`, tokens.join('\n') + '\n');
writeFileSync(`${out}/cookie`, cookieHeader());
const cc = await token({ grant_type: 'client_credentials', resource: 'urn:latchkey:bench:opaque' });
writeFileSync(`${out}/access`, cc.access_token);
