// The oidc-client-ts relying party: one UserManager, and the callback's steps, each reported in
// <pre id="result"> as JSON ({steps: {name: {ok, error, ...}}, done: true}) for the driver.

// Every request the library makes, with its answer's status, so that a step can show that the
// library itself called an endpoint (userinfo, the token endpoint) and what came back.
const requests = [];
const realFetch = window.fetch.bind(window);
window.fetch = async (input, init) => {
  const url = typeof input === "string" ? input : input.url;
  const entry = { url, status: null };
  requests.push(entry);
  const response = await realFetch(input, init);
  entry.status = response.status;
  return response;
};

function answered(path) {
  return requests.filter((r) => r.url.startsWith(window.RP_CONFIG.issuer + path)).map((r) => r.status);
}
function manager() {
  const c = window.RP_CONFIG;
  return new oidc.UserManager({
    authority: c.issuer,
    client_id: c.client_id,
    redirect_uri: location.origin + "/callback.html",
    response_type: "code",
    scope: "openid profile email offline_access",
    loadUserInfo: true,
    automaticSilentRenew: false,
    userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
  });
}

function report(result) {
  document.getElementById("result").textContent = JSON.stringify(result);
}

function describe(e) {
  return (e && (e.name + ": " + e.message + (e.error ? " (" + e.error + ")" : ""))) || String(e);
}

async function callback() {
  const steps = {};
  const m = manager();
  let user;
  try {
    user = await m.signinRedirectCallback();
    steps.signin = { ok: !!user.id_token && !!user.access_token, profile: user.profile, scope: user.scope };
  } catch (e) {
    steps.signin = { ok: false, error: describe(e) };
    report({ steps, done: true });
    return;
  }
  // loadUserInfo made the library call userinfo and merge its claims into the profile (it
  // checks that userinfo's `sub` is the ID token's).
  const userinfo = answered("/oauth/userinfo");
  steps.userinfo = {
    ok: userinfo.includes(200) && !!user.profile.preferred_username,
    error: `userinfo answers: ${JSON.stringify(userinfo)}`,
    profile: user.profile,
  };
  if (user.refresh_token) {
    try {
      const renewed = await m.signinSilent();
      const token = answered("/oauth/token");
      steps.refresh = {
        ok: !!renewed && renewed.access_token !== user.access_token && renewed.profile.sub === user.profile.sub,
        error: `token endpoint answers: ${JSON.stringify(token)}`,
      };
    } catch (e) {
      steps.refresh = { ok: false, error: describe(e) };
    }
  } else {
    steps.refresh = { ok: false, error: "no refresh token; scope " + user.scope };
  }
  report({ steps, done: true });
}
