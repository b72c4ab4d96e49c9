// Latchkey's one script: the browser half of the WebAuthn ceremonies. It adds a passkey on
// /account/passkeys (and on an invitation's page, /invite/{token}), signs in with a passkey on /login (a button, and the browser's autofill
// through conditional mediation), and presents a passkey as the second factor on /login/factor.
// Every page works without it for password users; the server checks everything it sends.
"use strict";

(function () {
  // base64url (no padding) <-> bytes, as WebAuthn's JSON forms write binary fields.
  function toBytes(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "===".slice((b64.length + 3) % 4);
    const raw = atob(padded);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  }

  function toText(buffer) {
    const bytes = new Uint8Array(buffer);
    let raw = "";
    for (let i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function status() {
    return document.getElementById("passkey-status");
  }

  function show(message) {
    const el = status();
    if (!el) return;
    el.textContent = message || el.dataset.failed || "";
    el.hidden = false;
  }

  function field(form, name) {
    const input = form ? form.querySelector('input[name="' + name + '"]') : null;
    return input ? input.value : "";
  }

  // POSTs JSON with the page's form token; resolves to the answer or rejects with the
  // server's sentence.
  async function post(path, token, body) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify(body || {}),
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (e) {
      answer = {};
    }
    if (!response.ok) {
      const failure = new Error(answer.error || "");
      failure.fromServer = true;
      throw failure;
    }
    return answer;
  }

  function creationOptions(options) {
    const pk = options.publicKey;
    pk.challenge = toBytes(pk.challenge);
    pk.user.id = toBytes(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return { publicKey: pk };
  }

  function requestOptions(options) {
    const pk = options.publicKey;
    pk.challenge = toBytes(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return { publicKey: pk };
  }

  function registration(credential) {
    const results = credential.getClientExtensionResults ? credential.getClientExtensionResults() : {};
    const response = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: toText(response.attestationObject),
        clientDataJSON: toText(response.clientDataJSON),
        transports: response.getTransports ? response.getTransports() : undefined,
      },
      extensions: results.credProps ? { credProps: results.credProps } : {},
    };
  }

  function assertion(credential) {
    const response = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: toText(response.authenticatorData),
        clientDataJSON: toText(response.clientDataJSON),
        signature: toText(response.signature),
        userHandle: response.userHandle ? toText(response.userHandle) : null,
      },
      extensions: {},
    };
  }

  function failed(error) {
    // A cancelled or aborted conditional request is not worth a message.
    if (error && error.name === "AbortError") return;
    show(error && error.fromServer ? error.message : "");
  }

  // Adding a passkey on /account/passkeys or an invitation's page: the form's data-start and
  // data-finish name its two JSON endpoints.
  function setUpRegistration(form) {
    const start = form.dataset.start || "/account/passkeys/register/start";
    const finish = form.dataset.finish || "/account/passkeys/register/finish";
    form.hidden = false;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const token = field(form, "csrf");
      try {
        const started = await post(start, token);
        const credential = await navigator.credentials.create(creationOptions(started.options));
        const done = await post(finish, token, {
          ceremony: started.ceremony,
          name: field(form, "name"),
          credential: registration(credential),
        });
        window.location.assign(done.redirect);
      } catch (error) {
        failed(error);
      }
    });
  }

  // Signing in with a passkey: `start` and `finish` are the two JSON endpoints, `extra` what the
  // finish also carries, `mediation` "conditional" for the autofill.
  async function signIn(start, finish, token, extra, mediation, abort) {
    const started = await post(start, token);
    const options = requestOptions(started.options);
    if (mediation) {
      options.mediation = mediation;
      options.signal = abort.signal;
    }
    const credential = await navigator.credentials.get(options);
    const body = Object.assign({ ceremony: started.ceremony, credential: assertion(credential) }, extra);
    const done = await post(finish, token, body);
    window.location.assign(done.redirect);
  }

  // Passkey-first sign-in on /login: the button, and conditional mediation in the username field.
  function setUpSignIn(button) {
    const form = document.querySelector('form[action="/login"]');
    const token = field(form, "csrf");
    const extra = { return_to: field(form, "return_to") };
    const start = "/login/passkey/start";
    const finish = "/login/passkey/finish";
    let conditional = null;
    button.hidden = false;
    button.addEventListener("click", async function () {
      if (conditional) conditional.abort();
      try {
        await signIn(start, finish, token, extra, null, null);
      } catch (error) {
        failed(error);
      }
    });
    if (window.PublicKeyCredential && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) return;
        conditional = new AbortController();
        signIn(start, finish, token, extra, "conditional", conditional).catch(failed);
      }, function () {});
    }
  }

  // A passkey as the second factor on /login/factor.
  function setUpSecondFactor(button) {
    const token = button.dataset.csrf || "";
    button.hidden = false;
    button.addEventListener("click", async function (event) {
      event.preventDefault();
      try {
        await signIn("/login/factor/passkey/start", "/login/factor/passkey/finish", token, {}, null, null);
      } catch (error) {
        failed(error);
      }
    });
  }

  function start() {
    if (!window.PublicKeyCredential || !navigator.credentials) return;
    const register = document.querySelector('form[data-passkey="register"]');
    if (register) setUpRegistration(register);
    const first = document.querySelector('button[data-passkey="first"]');
    if (first) setUpSignIn(first);
    const second = document.querySelector('button[data-passkey="second"]');
    if (second) setUpSecondFactor(second);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
