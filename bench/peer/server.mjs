// The peer of `bash bench/run --compare`: panva's oidc-provider 9 (the OpenID-certified Node
// server) set up as Latchkey is in bench/run, so the same wrk scripts drive both:
// - the same endpoint paths (`routes` below), the same client `bench` (client_secret_basic) with
//   the same secret, redirect URI and grants;
// - Ed25519 signing (EdDSA) for ID tokens and JWT access tokens; every access token is a JWT
//   (RFC 9068) through a resource indicator, as Latchkey's are;
// - refresh tokens rotate on every use, as Latchkey's do;
// - the `bench` client is first party: its grant is made without a consent page, as Latchkey's
//   `first_party = true` does;
// - the in-memory adapter (oidc-provider's default), NODE_ENV=production, otherwise its defaults.
// The one interaction (sign-in) signs in the account `load0` at once: the benchmark measures the
// protocol endpoints, not a login page.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const { PEER_ISSUER: issuer, PEER_PORT: port, PEER_SECRET: secret } = process.env;
if (!issuer || !port || !secret) throw new Error('PEER_ISSUER, PEER_PORT and PEER_SECRET are required');

const key = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
const resource = 'urn:latchkey:bench:api';
// oidc-provider cannot introspect its JWT access tokens, so the introspection scenario asks for a
// token of this second resource, which is opaque (stored, looked up on introspection).
const opaque = 'urn:latchkey:bench:opaque';

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench',
    client_secret: secret,
    redirect_uris: ['http://127.0.0.1/cb'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'EdDSA',
    scope: 'openid profile offline_access',
  }],
  jwks: { keys: [{ ...key, alg: 'EdDSA', use: 'sig', kid: 'bench-ed25519' }] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  routes: {
    authorization: '/oauth/authorize',
    token: '/oauth/token',
    introspection: '/oauth/introspect',
    revocation: '/oauth/revoke',
    userinfo: '/oauth/userinfo',
    jwks: '/.well-known/jwks.json',
    end_session: '/oauth/logout',
  },
  scopes: ['openid', 'profile', 'offline_access'],
  pkce: { required: () => true },
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => (indicator === opaque
        ? { scope: 'openid profile offline_access', audience: opaque, accessTokenFormat: 'opaque', accessTokenTTL: 300 }
        : {
          scope: 'openid profile offline_access',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: 'EdDSA' } },
        }),
    },
  },
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  // First party: the grant is made without asking, for the scopes requested.
  loadExistingGrant: async (ctx) => {
    const id = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (id) return ctx.oidc.provider.Grant.find(id);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile offline_access');
    grant.addResourceScope(resource, 'openid profile offline_access');
    await grant.save();
    return grant;
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
});
provider.proxy = false;

const callback = provider.callback();
createServer(async (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') {
        await provider.interactionFinished(req, res, { login: { accountId: 'load0' } }, { mergeWithLastSubmission: false });
      } else {
        // Asked for consent (offline_access needs `prompt=consent`): granted as asked.
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ clientId: details.params.client_id, accountId: details.session.accountId });
        grant.addOIDCScope(String(details.params.scope));
        grant.addResourceScope(resource, String(details.params.scope));
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      }
    } catch (e) {
      res.statusCode = 400;
      res.end(String(e));
    }
    return;
  }
  callback(req, res);
}).listen(Number(port), '127.0.0.1');
