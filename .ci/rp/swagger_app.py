"""A FastAPI resource server whose own Swagger UI signs in at Latchkey: "Authorize" with the
authorization code flow and PKCE for a public client (FastAPI's OAuth2AuthorizationCodeBearer
with `usePkceWithAuthorizationCodeGrant`), then "Try it out" on /me, which checks the bearer
access token with PyJWT: EdDSA signature against Latchkey's JWKS, `iss`, `aud` (this resource
server's own identifier, which Swagger UI asks for as the RFC 8707 `resource` and the client is
registered with; never the client id, which is the ID token's audience), `exp`, and the RFC 9068
header type `at+jwt`.

Swagger UI's files come from the npm package swagger-ui-dist in RP_SWAGGER_DIST, served by this
app: no CDN. Configured by the environment: RP_ISSUER, RP_PORT, RP_CLIENT_ID, RP_SWAGGER_DIST.
"""

import os

import jwt
from fastapi import Depends, FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.security import OAuth2AuthorizationCodeBearer
from fastapi.staticfiles import StaticFiles

ISSUER = os.environ["RP_ISSUER"]
CLIENT_ID = os.environ["RP_CLIENT_ID"]
DIST = os.environ["RP_SWAGGER_DIST"]
# This resource server's RFC 8707 identifier: its own origin.
RESOURCE = f"http://127.0.0.1:{os.environ['RP_PORT']}"

app = FastAPI(
    title="rp swagger",
    docs_url=None,
    swagger_ui_oauth2_redirect_url="/docs/oauth2-redirect",
)
app.mount("/static", StaticFiles(directory=DIST), name="static")

oauth2 = OAuth2AuthorizationCodeBearer(
    authorizationUrl=f"{ISSUER}/oauth/authorize",
    tokenUrl=f"{ISSUER}/oauth/token",
    scopes={"openid": "OpenID Connect", "profile": "profile claims"},
)
jwks = jwt.PyJWKClient(f"{ISSUER}/.well-known/jwks.json")


@app.get("/docs", include_in_schema=False)
async def docs():
    return get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title="rp swagger",
        oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
        swagger_js_url="/static/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger-ui.css",
        swagger_favicon_url="/static/favicon-32x32.png",
        init_oauth={
            "clientId": CLIENT_ID,
            "usePkceWithAuthorizationCodeGrant": True,
            "scopes": "openid profile",
            "additionalQueryStringParams": {"resource": RESOURCE},
        },
    )


# With docs_url=None FastAPI adds no redirect page either: this is FastAPI's own page.
@app.get("/docs/oauth2-redirect", include_in_schema=False)
async def oauth2_redirect():
    return get_swagger_ui_oauth2_redirect_html()


def verified_claims(token: str = Depends(oauth2)) -> dict:
    try:
        header = jwt.get_unverified_header(token)
        if header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
            raise jwt.InvalidTokenError(f"header typ {header.get('typ')!r} is not at+jwt")
        key = jwks.get_signing_key_from_jwt(token)
        return jwt.decode(
            token,
            key.key,
            algorithms=["EdDSA"],
            audience=RESOURCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as e:
        raise HTTPException(status_code=401, detail=f"access token refused: {type(e).__name__}: {e}") from e


@app.get("/me")
async def me(claims: dict = Depends(verified_claims)) -> dict:
    """The verified claims of the caller's access token."""
    return {"verified": True, "claims": claims}
