"""A FastAPI relying party that signs in with Authlib's Starlette client (confidential client,
PKCE S256, OpenID Connect). Configured by the environment: RP_ISSUER, RP_PORT, RP_CLIENT_ID,
RP_CLIENT_SECRET_FILE, RP_NAME (names the session cookie), RP_PKCE (0: Authlib's default
registration, without `code_challenge_method`, which sends no PKCE but a nonce).

/login starts the flow; /callback lets Authlib exchange the code and verify the ID token
(signature against the JWKS, iss, aud, nonce, at_hash), then calls userinfo and refreshes the
token, and keeps the outcome of each in the session; /result shows it as JSON in <pre id=result>.
"""

import base64
import html
import json
import os
import traceback

from authlib.integrations.starlette_client import OAuth
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.middleware.sessions import SessionMiddleware

ISSUER = os.environ["RP_ISSUER"]
PORT = int(os.environ["RP_PORT"])
NAME = os.environ.get("RP_NAME", "authlib")
CLIENT_ID = os.environ["RP_CLIENT_ID"]
with open(os.environ["RP_CLIENT_SECRET_FILE"], encoding="utf-8") as f:
    CLIENT_SECRET = f.read().strip()
BASE = f"http://127.0.0.1:{PORT}"
PKCE = os.environ.get("RP_PKCE", "1") != "0"

app = FastAPI()
# The cookie shares the host 127.0.0.1 with Latchkey's own cookies (cookies ignore ports), so it
# gets a name of its own.
app.add_middleware(SessionMiddleware, secret_key=os.urandom(32).hex(), session_cookie=f"rp-{NAME}")

oauth = OAuth()
oauth.register(
    name="latchkey",
    client_id=CLIENT_ID,
    client_secret=CLIENT_SECRET,
    server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
    client_kwargs={"scope": "openid profile email offline_access"},
    **({"code_challenge_method": "S256"} if PKCE else {}),
)

# The outcome of the last sign-in, also kept here: the session cookie is too small for tokens.
results: dict = {}


def error_text(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}".strip()


def header_alg(jws: str) -> str:
    """The `alg` of a compact JWS's header (already verified by Authlib; only reported here)."""
    head = jws.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))).get("alg", "")


@app.get("/login")
async def login(request: Request):
    response = await oauth.latchkey.authorize_redirect(request, f"{BASE}/callback")
    results.clear()
    results["authorize_url"] = response.headers.get("location", "")
    return response


@app.get("/callback")
async def callback(request: Request):
    steps = results.setdefault("steps", {})
    try:
        token = await oauth.latchkey.authorize_access_token(request)
    except Exception as e:  # noqa: BLE001 - every failure is reported, not raised
        steps["id_token"] = {"ok": False, "error": error_text(e), "trace": traceback.format_exc()[-2000:]}
        return RedirectResponse("/result", status_code=303)
    claims = dict(token.get("userinfo") or {})
    if claims:
        steps["id_token"] = {"ok": True, "claims": claims, "alg": header_alg(token["id_token"])}
    else:
        steps["id_token"] = {"ok": False, "error": f"no verified ID token; token response keys: {sorted(token)}"}
    try:
        info = await oauth.latchkey.userinfo(token=token)
        steps["userinfo"] = {"ok": True, "claims": dict(info)}
    except Exception as e:  # noqa: BLE001
        steps["userinfo"] = {"ok": False, "error": error_text(e)}
    if token.get("refresh_token"):
        try:
            new = await oauth.latchkey.fetch_access_token(
                grant_type="refresh_token", refresh_token=token["refresh_token"]
            )
            ok = bool(new.get("access_token")) and new.get("access_token") != token.get("access_token")
            steps["refresh"] = {"ok": ok, "error": "" if ok else f"refresh answered {sorted(new)}"}
        except Exception as e:  # noqa: BLE001
            steps["refresh"] = {"ok": False, "error": error_text(e)}
    else:
        steps["refresh"] = {"ok": False, "error": f"no refresh token; scope {token.get('scope')!r}"}
    return RedirectResponse("/result", status_code=303)


@app.get("/result", response_class=HTMLResponse)
async def result():
    return f"<!doctype html><title>result</title><pre id=result>{html.escape(json.dumps(results))}</pre>"
