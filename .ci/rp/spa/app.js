// The oidc-client-ts relying party: one UserManager, and the callback's steps, each reported in
// <pre id="result"> as JSON ({steps: {name: {ok, error, ...}}, done: true}) for the driver.
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
  // loadUserInfo merged the userinfo claims into the profile; a failed userinfo call fails the
  // sign-in above. Its own proof: a claim only userinfo or the ID token can carry.
  steps.userinfo = { ok: !!user.profile.preferred_username, profile: user.profile };
  if (user.refresh_token) {
    try {
      const renewed = await m.signinSilent();
      steps.refresh = {
        ok: !!renewed && renewed.access_token !== user.access_token && renewed.profile.sub === user.profile.sub,
      };
    } catch (e) {
      steps.refresh = { ok: false, error: describe(e) };
    }
  } else {
    steps.refresh = { ok: false, error: "no refresh token; scope " + user.scope };
  }
  report({ steps, done: true });
}
