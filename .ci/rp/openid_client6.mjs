// A Node relying party with openid-client 6: a confidential client with the default EdDSA ID
// tokens (openid-client 6 accepts the algorithms that discovery lists), code flow with PKCE
// S256, state and nonce. /login starts it; /callback lets the library redeem the code and
// verify the ID token, then calls userinfo and refreshes; /result shows each step as JSON.
// Latchkey runs on plain http on loopback here, so the library's https rule is relaxed with
// its own `allowInsecureRequests`. Configured by the environment: RP_ISSUER, RP_PORT,
// RP_CLIENT_ID, RP_CLIENT_SECRET_FILE, RP_NODE_MODULES (where openid-client 6 is installed, as
// the npm alias openid-client-6).
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";

const client = await import(
  pathToFileURL(path.join(process.env.RP_NODE_MODULES, "openid-client-6", "build", "index.js")).href
);

const issuerUrl = new URL(process.env.RP_ISSUER);
const port = Number(process.env.RP_PORT);
const base = `http://127.0.0.1:${port}`;
const redirectUri = `${base}/callback`;
const secret = fs.readFileSync(process.env.RP_CLIENT_SECRET_FILE, "utf8").trim();

let config = null;
// One sign-in at a time: the driver runs one browser.
let pending = null;
let result = {};

function describe(e) {
  const cause = e && e.cause && e.cause.error ? ` (${e.cause.error}: ${e.cause.error_description})` : "";
  return `${e && e.name}: ${e && e.message}${cause}`;
}

function escape(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

function headerAlg(jws) {
  return JSON.parse(Buffer.from(jws.split(".")[0], "base64url").toString()).alg;
}

async function login(res) {
  pending = {
    verifier: client.randomPKCECodeVerifier(),
    state: client.randomState(),
    nonce: client.randomNonce(),
  };
  result = { steps: {} };
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: "openid profile email offline_access",
    code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
    code_challenge_method: "S256",
    state: pending.state,
    nonce: pending.nonce,
  });
  result.authorize_url = url.href;
  res.writeHead(303, { Location: url.href }).end();
}

async function callback(req, res) {
  const steps = result.steps;
  let tokens;
  try {
    tokens = await client.authorizationCodeGrant(config, new URL(req.url, base), {
      pkceCodeVerifier: pending && pending.verifier,
      expectedState: pending && pending.state,
      expectedNonce: pending && pending.nonce,
      idTokenExpected: true,
    });
    steps.id_token = { ok: true, alg: headerAlg(tokens.id_token), claims: tokens.claims() };
  } catch (e) {
    steps.id_token = { ok: false, error: describe(e) };
  }
  if (tokens) {
    const sub = tokens.claims().sub;
    try {
      steps.userinfo = { ok: true, claims: await client.fetchUserInfo(config, tokens.access_token, sub) };
    } catch (e) {
      steps.userinfo = { ok: false, error: describe(e) };
    }
    if (tokens.refresh_token) {
      try {
        const renewed = await client.refreshTokenGrant(config, tokens.refresh_token);
        steps.refresh = { ok: !!renewed.access_token && renewed.access_token !== tokens.access_token };
      } catch (e) {
        steps.refresh = { ok: false, error: describe(e) };
      }
    } else {
      steps.refresh = { ok: false, error: `no refresh token; scope ${tokens.scope}` };
    }
  }
  pending = null;
  res.writeHead(303, { Location: "/result" }).end();
}

http
  .createServer((req, res) => {
    const where = new URL(req.url, base).pathname;
    const done = (e) => {
      res.writeHead(500, { "Content-Type": "text/plain" }).end(describe(e));
    };
    if (where === "/login") return login(res).catch(done);
    if (where === "/callback") return callback(req, res).catch(done);
    if (where === "/result") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      return res.end(`<!doctype html><title>result</title><pre id=result>${escape(JSON.stringify(result))}</pre>`);
    }
    if (where === "/healthz") return res.writeHead(config ? 200 : 503).end(config ? "ok" : "starting");
    res.writeHead(404).end();
  })
  .listen(port, "127.0.0.1", () => {
    client
      .discovery(issuerUrl, process.env.RP_CLIENT_ID, secret, undefined, { execute: [client.allowInsecureRequests] })
      .then((c) => {
        config = c;
      })
      .catch((e) => console.error(`discovery failed: ${describe(e)}`));
  });
