// A Node relying party with openid-client 5: a confidential client registered for RS256 ID
// tokens, code flow with PKCE S256, state and nonce. /login starts it; /callback lets the
// library redeem the code and verify the ID token (RS256 signature by the JWKS, iss, aud, exp,
// nonce, at_hash), then calls userinfo and refreshes; /result shows each step as JSON.
// Configured by the environment: RP_ISSUER, RP_PORT, RP_CLIENT_ID, RP_CLIENT_SECRET_FILE.
"use strict";

const fs = require("fs");
const http = require("http");
const { Issuer, generators } = require("openid-client");

const issuerUrl = process.env.RP_ISSUER;
const port = Number(process.env.RP_PORT);
const base = `http://127.0.0.1:${port}`;
const redirectUri = `${base}/callback`;
const secret = fs.readFileSync(process.env.RP_CLIENT_SECRET_FILE, "utf8").trim();

let client;
// What the JWKS held when this app started, before any sign-in: an RS256 relying party that
// caches the key set at start needs the RSA key there already.
let keysAtStart = null;
// One sign-in at a time: the driver runs one browser.
let pending = null;
let result = {};

function describe(e) {
  return `${e && e.name}: ${e && e.message}` + (e && e.error_description ? ` (${e.error_description})` : "");
}

function escape(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

async function getClient() {
  if (!client) {
    const issuer = await Issuer.discover(issuerUrl);
    const jwks = await (await fetch(issuer.metadata.jwks_uri)).json();
    keysAtStart = jwks.keys.map((k) => ({ kty: k.kty, alg: k.alg, use: k.use }));
    client = new issuer.Client({
      client_id: process.env.RP_CLIENT_ID,
      client_secret: secret,
      redirect_uris: [redirectUri],
      response_types: ["code"],
      id_token_signed_response_alg: "RS256",
      token_endpoint_auth_method: "client_secret_basic",
    });
  }
  return client;
}

async function login(res) {
  const c = await getClient();
  pending = {
    verifier: generators.codeVerifier(),
    state: generators.state(),
    nonce: generators.nonce(),
  };
  result = { steps: {} };
  const url = c.authorizationUrl({
    scope: "openid profile email offline_access",
    code_challenge: generators.codeChallenge(pending.verifier),
    code_challenge_method: "S256",
    state: pending.state,
    nonce: pending.nonce,
  });
  result.authorize_url = url;
  res.writeHead(303, { Location: url }).end();
}

async function callback(req, res) {
  const c = await getClient();
  const steps = result.steps;
  let tokens;
  try {
    const params = c.callbackParams(req);
    tokens = await c.callback(redirectUri, params, {
      code_verifier: pending && pending.verifier,
      state: pending && pending.state,
      nonce: pending && pending.nonce,
    });
    const header = JSON.parse(Buffer.from(tokens.id_token.split(".")[0], "base64url").toString());
    steps.id_token = { ok: header.alg === "RS256", alg: header.alg, claims: tokens.claims() };
    if (header.alg !== "RS256") steps.id_token.error = `ID token alg ${header.alg}, not RS256`;
  } catch (e) {
    steps.id_token = { ok: false, error: describe(e) };
  }
  if (tokens) {
    try {
      steps.userinfo = { ok: true, claims: await c.userinfo(tokens) };
    } catch (e) {
      steps.userinfo = { ok: false, error: describe(e) };
    }
    if (tokens.refresh_token) {
      try {
        const renewed = await c.refresh(tokens.refresh_token);
        steps.refresh = { ok: !!renewed.access_token && renewed.access_token !== tokens.access_token };
        if (renewed.id_token) steps.refresh.id_token_sub = renewed.claims().sub;
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
    const path = new URL(req.url, base).pathname;
    const done = (e) => {
      res.writeHead(500, { "Content-Type": "text/plain" }).end(describe(e));
    };
    if (path === "/login") return login(res).catch(done);
    if (path === "/callback") return callback(req, res).catch(done);
    if (path === "/result") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      return res.end(`<!doctype html><title>result</title><pre id=result>${escape(JSON.stringify({ keys_at_start: keysAtStart, ...result }))}</pre>`);
    }
    if (path === "/healthz") return res.writeHead(client ? 200 : 503).end(client ? "ok" : "starting");
    res.writeHead(404).end();
  })
  .listen(port, "127.0.0.1", () => {
    // Discovery and the key set, read once at start as a long-running app would.
    getClient().catch((e) => console.error(`discovery failed: ${describe(e)}`));
  });
