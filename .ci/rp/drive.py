"""Drives every relying-party scenario of .ci/rp/run through Latchkey's real login and consent
pages in headless Chromium (selenium with Debian's chromedriver; no browser is downloaded), and
prints one line per step, `rp: SCENARIO: STEP ... pass` or `... fail: WHY`, then the closing line
`rp: N passed, N failed`. Exits 1 if any step failed.

A step that cannot run because an earlier step of its scenario failed is reported as failed
("not reached"), so that every run counts the same steps.

Environment: RP_ISSUER, RP_USERNAME, RP_PASSWORD, RP_ONLY (comma-separated scenario names, to
run a few), RP_SCREENSHOTS (a directory: a screenshot of each failed scenario goes there), and for
each scenario its app's base URL: RP_AUTHLIB_URL, RP_AUTHLIB_ED25519_URL, RP_AUTHLIB_NONCE_URL,
RP_SWAGGER_URL, RP_SPA_URL, RP_OPENID_CLIENT5_URL, RP_OPENID_CLIENT6_URL.
"""

import json
import os
import sys
import tempfile

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1024",
]
# How long a page may take to show what a step waits for.
WITHIN = 30

ISSUER = os.environ["RP_ISSUER"]
USERNAME = os.environ["RP_USERNAME"]
PASSWORD = os.environ["RP_PASSWORD"]
EMAIL = os.environ.get("RP_EMAIL", "")


class StepFailed(Exception):
    """A step's check did not hold; the message says what was seen."""


class Scenario:
    """The steps of one scenario, reported in order; after a failure the rest are not reached."""

    def __init__(self, name: str, steps: list[str], tally: dict):
        self.name = name
        self.steps = steps
        self.done = 0
        self.tally = tally

    def passed(self, step: str) -> None:
        self._check_order(step)
        print(f"rp: {self.name}: {step} ... pass", flush=True)
        self.tally["passed"] += 1
        self.done += 1

    def failed(self, step: str, why: str) -> None:
        self._check_order(step)
        why = " ".join(why.split())[:600]
        print(f"rp: {self.name}: {step} ... fail: {why}", flush=True)
        self.tally["failed"] += 1
        self.done += 1

    def rest_not_reached(self) -> None:
        for step in self.steps[self.done :]:
            print(f"rp: {self.name}: {step} ... fail: not reached", flush=True)
            self.tally["failed"] += 1
        self.done = len(self.steps)

    def _check_order(self, step: str) -> None:
        expected = self.steps[self.done] if self.done < len(self.steps) else None
        if step != expected:
            raise RuntimeError(f"step {step!r} reported out of order (expected {expected!r})")


def browser(profile: str) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(WITHIN)
    return driver


def wait_for(driver, what: str, condition, within: float = WITHIN):
    """Waits until `condition(driver)` is truthy and returns it, or fails the step with `what`."""
    try:
        return WebDriverWait(driver, within, poll_frequency=0.1).until(lambda d: condition(d))
    except TimeoutException:
        raise StepFailed(f"{what} not seen within {within} s; at {driver.current_url}: {page_text(driver)}") from None


def page_text(driver) -> str:
    try:
        text = driver.find_element(By.TAG_NAME, "body").text
    except WebDriverException:
        text = ""
    return " ".join(text.split())[:400]


def console_errors(driver) -> str:
    try:
        logs = driver.get_log("browser")
    except WebDriverException:
        return ""
    errors = [e.get("message", "") for e in logs if e.get("level") in ("SEVERE", "WARNING")]
    return " | ".join(errors)[-800:]


def on_login_page(d):
    return d.current_url.startswith(f"{ISSUER}/") and d.find_elements(By.CSS_SELECTOR, "form[action='/login'] #password")


def sign_in(driver) -> None:
    """On Latchkey's login page: types the username and password and submits."""
    driver.find_element(By.ID, "username").clear()
    driver.find_element(By.ID, "username").send_keys(USERNAME)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()


def consent_button(d):
    found = d.find_elements(By.CSS_SELECTOR, "form[action='/oauth/consent'] button[name=decision][value=allow]")
    return found[0] if found else None


def login_and_consent(s: Scenario, driver, steps: tuple[str, str], back_at: str) -> None:
    """The shared middle of every flow: sign in on the login page, allow on the consent page,
    and arrive back at `back_at`. Reports two steps."""
    sign_in(driver)
    wait_for(driver, "the consent page", consent_button)
    s.passed(steps[0])
    consent_button(driver).click()
    wait_for(driver, f"a page of {back_at}", lambda d: d.current_url.startswith(back_at))
    s.passed(steps[1])


def read_result(driver, what: str) -> dict:
    """The JSON an app shows in <pre id=result> once its flow is done."""

    def ready(d):
        found = d.find_elements(By.ID, "result")
        if not found:
            return None
        text = found[0].text.strip()
        if not text:
            return None
        data = json.loads(text)
        return data if data.get("done", True) else None

    return wait_for(driver, what, ready)


def step_of(result: dict, key: str) -> dict:
    return (result.get("steps") or {}).get(key) or {"ok": False, "error": f"not reached: the app stopped before its {key!r} step"}


def check_step(s: Scenario, step: str, got: dict, extra=None) -> None:
    """Reports `step` from an app's own record `got` ({ok, error, ...}), with `extra(got)`
    returning a further reason to fail (or None)."""
    if not got.get("ok"):
        s.failed(step, got.get("error") or json.dumps(got)[:400])
        return
    why = extra(got) if extra else None
    if why:
        s.failed(step, why)
    else:
        s.passed(step)


def user_claims_problem(claims: dict) -> str | None:
    """Why `claims` are not the signed-in user's, or None."""
    if claims.get("preferred_username") != USERNAME:
        return f"preferred_username {claims.get('preferred_username')!r}, expected {USERNAME!r}; claims {claims}"
    if EMAIL and claims.get("email") != EMAIL:
        return f"email {claims.get('email')!r}, expected {EMAIL!r}"
    if not claims.get("sub"):
        return "no sub claim"
    return None


def server_side_rp(name: str, base: str, alg: str, pkce: bool = True, rsa_key_at_start: bool = False):
    """A scenario for an app that runs the flow on its server (Authlib, openid-client): /login,
    Latchkey's pages, /callback, then /result with the app's record of each library call.
    `pkce` False: the library's default sends no PKCE, only state and a nonce (a confidential
    client, which Latchkey must accept for OpenID Connect requests with a nonce).
    `rsa_key_at_start`: the app read the JWKS at start, before any sign-in, and it must already
    hold an RSA key for RS256 (the client is declared for it)."""
    steps = ["login page reached"] if not rsa_key_at_start else ["JWKS read at app start has an RSA key", "login page reached"]
    steps += [
        "signed in, consent page reached",
        "consent given, back at the app",
        "authorization request used PKCE S256, state and nonce"
        if pkce
        else "authorization request had state and nonce (no PKCE: the library's default)",
        f"ID token verified by the library ({alg}), claims show the user",
        "userinfo call returns the same subject",
        "refresh token grant works",
    ]

    def run(s: Scenario, driver) -> None:
        i = iter(steps)
        if rsa_key_at_start:
            step = next(i)
            driver.get(f"{base}/result")
            keys = read_result(driver, "the app's key set at start").get("keys_at_start") or []
            if any(k.get("kty") == "RSA" for k in keys):
                s.passed(step)
            else:
                s.failed(step, f"the JWKS at start held {keys}")
        driver.get(f"{base}/login")
        wait_for(driver, "Latchkey's login page", lambda d: on_login_page(d) or d.current_url.startswith(f"{base}/result"))
        if not on_login_page(driver):
            got = step_of(read_result(driver, "the app's result"), "id_token")
            raise StepFailed(f"Latchkey sent the browser back without a sign-in: {got.get('error')}")
        s.passed(next(i))
        login_and_consent(s, driver, (next(i), next(i)), base)
        result = read_result(driver, "the app's result")
        step = next(i)
        url = result.get("authorize_url", "")
        has = {p: p in url for p in ("code_challenge=", "code_challenge_method=S256", "state=", "nonce=")}
        wanted = all(has.values()) if pkce else has["state="] and has["nonce="] and not has["code_challenge="]
        if wanted:
            s.passed(step)
        else:
            s.failed(step, f"authorization URL {url!r}")
        step = next(i)
        id_token = step_of(result, "id_token")

        def id_token_problem(g):
            if g.get("alg") != alg:
                return f"the ID token's alg is {g.get('alg')!r}, expected {alg!r}"
            return user_claims_problem(g.get("claims") or {})

        check_step(s, step, id_token, id_token_problem)
        sub = (id_token.get("claims") or {}).get("sub")
        check_step(
            s,
            next(i),
            step_of(result, "userinfo"),
            lambda g: None if (g.get("claims") or {}).get("sub") == sub else f"userinfo {g.get('claims')}, ID token sub {sub!r}",
        )
        check_step(s, next(i), step_of(result, "refresh"))

    return name, steps, run


def swagger(base: str):
    steps = [
        "Swagger UI loaded from the local swagger-ui-dist",
        "Authorize opens Latchkey's login page",
        "signed in, consent page reached",
        "consent given, back at Swagger UI",
        "Swagger UI redeemed the code with PKCE (token request with X-Requested-With)",
        "Try it out on /me: access token verified by PyJWT (EdDSA, aud)",
    ]

    def run(s: Scenario, driver) -> None:
        driver.get(f"{base}/docs")
        wait_for(driver, "the Authorize button", lambda d: d.find_elements(By.CSS_SELECTOR, ".auth-wrapper .authorize"))
        s.passed(steps[0])
        main = driver.current_window_handle
        driver.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
        modal = wait_for(driver, "the Authorize dialog", lambda d: d.find_elements(By.CSS_SELECTOR, ".modal-ux"))[0]
        # The scopes given to initOAuth are ticked already; the client id is filled in.
        modal.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper .modal-btn.authorize").click()
        wait_for(driver, "the sign-in window", lambda d: len(d.window_handles) > 1)
        popup = [h for h in driver.window_handles if h != main][0]
        driver.switch_to.window(popup)
        wait_for(driver, "Latchkey's login page", on_login_page)
        s.passed(steps[1])
        sign_in(driver)
        wait_for(driver, "the consent page", consent_button)
        s.passed(steps[2])
        consent_button(driver).click()
        # The redirect page hands the code to the opener and closes itself.
        wait_for(driver, "the sign-in window to close", lambda d: popup not in d.window_handles)
        driver.switch_to.window(main)
        s.passed(steps[3])

        def authorized_or_error(d):
            dialog = d.find_elements(By.CSS_SELECTOR, ".modal-ux")
            if not dialog:
                return None
            text = dialog[0].text
            if "Logout" in text:
                return ("ok", text)
            errors = d.find_elements(By.CSS_SELECTOR, ".modal-ux .errors")
            if errors and errors[0].text.strip():
                return ("error", errors[0].text)
            return None

        outcome, text = wait_for(driver, "Swagger UI's token outcome", authorized_or_error)
        if outcome != "ok":
            raise StepFailed(f"Swagger UI says: {text}; console: {console_errors(driver)}")
        s.passed(steps[4])
        driver.find_element(By.CSS_SELECTOR, ".modal-ux .btn-done, .modal-ux .close-modal").click()
        wait_for(driver, "the dialog to close", lambda d: not d.find_elements(By.CSS_SELECTOR, ".modal-ux"))
        driver.find_element(By.CSS_SELECTOR, "#operations-default-me_me_get .opblock-summary").click()
        wait_for(driver, "Try it out", lambda d: d.find_elements(By.CSS_SELECTOR, "#operations-default-me_me_get .try-out__btn"))[0].click()
        wait_for(driver, "Execute", lambda d: d.find_elements(By.CSS_SELECTOR, "#operations-default-me_me_get .execute"))[0].click()

        def live_response(d):
            found = d.find_elements(By.CSS_SELECTOR, "#operations-default-me_me_get .live-responses-table .response")
            if not found:
                return None
            status = found[0].find_element(By.CSS_SELECTOR, ".response-col_status").text.strip()
            body = found[0].find_elements(By.CSS_SELECTOR, ".response-col_description pre")
            return (status, body[0].text if body else "")

        status, body = wait_for(driver, "the response of /me", live_response)
        if not status.startswith("200"):
            raise StepFailed(f"/me answered {status}: {body[:400]}")
        data = json.loads(body)
        claims = data.get("claims") or {}
        if not data.get("verified") or not claims.get("sub") or not claims.get("aud"):
            raise StepFailed(f"/me answered {body[:400]}")
        s.passed(steps[5])

    return "fastapi-swagger-ui", steps, run


def spa(base: str):
    steps = [
        "login page reached from signinRedirect",
        "signed in, consent page reached",
        "consent given, back at the callback page",
        "signinRedirectCallback: code redeemed with PKCE, profile shows the user",
        "userinfo loaded (loadUserInfo) with the same subject",
        "signinSilent with the refresh token works",
    ]

    def run(s: Scenario, driver) -> None:
        driver.get(f"{base}/index.html")
        wait_for(driver, "the Sign in button", lambda d: d.find_elements(By.ID, "signin"))[0].click()
        wait_for(driver, "Latchkey's login page", lambda d: on_login_page(d) or d.current_url.startswith(f"{base}/callback.html"))
        if not on_login_page(driver):
            got = step_of(read_result(driver, "the callback's result"), "signin")
            raise StepFailed(f"Latchkey sent the browser back without a sign-in: {got.get('error')}")
        s.passed(steps[0])
        login_and_consent(s, driver, (steps[1], steps[2]), f"{base}/callback.html")
        result = read_result(driver, "the callback's result")
        signin = step_of(result, "signin")
        if not signin.get("ok") and "error" in signin:
            signin["error"] += f"; console: {console_errors(driver)}"
        check_step(s, steps[3], signin, lambda g: user_claims_problem(g.get("profile") or {}))
        check_step(s, steps[4], step_of(result, "userinfo"))
        refresh = step_of(result, "refresh")
        if not refresh.get("ok") and "error" in refresh:
            refresh["error"] += f"; console: {console_errors(driver)}"
        check_step(s, steps[5], refresh)

    return "oidc-client-ts", steps, run


def main() -> int:
    scenarios = []
    if os.environ.get("RP_AUTHLIB_URL"):
        scenarios.append(server_side_rp("fastapi-authlib", os.environ["RP_AUTHLIB_URL"], "EdDSA"))
    if os.environ.get("RP_AUTHLIB_ED25519_URL"):
        scenarios.append(server_side_rp("fastapi-authlib-ed25519", os.environ["RP_AUTHLIB_ED25519_URL"], "Ed25519"))
    if os.environ.get("RP_AUTHLIB_NONCE_URL"):
        scenarios.append(
            server_side_rp("fastapi-authlib-nonce-without-pkce", os.environ["RP_AUTHLIB_NONCE_URL"], "EdDSA", pkce=False)
        )
    if os.environ.get("RP_SWAGGER_URL"):
        scenarios.append(swagger(os.environ["RP_SWAGGER_URL"]))
    if os.environ.get("RP_SPA_URL"):
        scenarios.append(spa(os.environ["RP_SPA_URL"]))
    if os.environ.get("RP_OPENID_CLIENT5_URL"):
        scenarios.append(server_side_rp(
                "openid-client-5-rs256", os.environ["RP_OPENID_CLIENT5_URL"], "RS256", rsa_key_at_start=True
            ))
    if os.environ.get("RP_OPENID_CLIENT6_URL"):
        scenarios.append(server_side_rp("openid-client-6", os.environ["RP_OPENID_CLIENT6_URL"], "EdDSA"))
    only = [n for n in os.environ.get("RP_ONLY", "").split(",") if n]
    if only:
        scenarios = [sc for sc in scenarios if sc[0] in only]
    shots = os.environ.get("RP_SCREENSHOTS")
    tally = {"passed": 0, "failed": 0}
    for name, steps, run in scenarios:
        s = Scenario(name, steps, tally)
        driver = None
        with tempfile.TemporaryDirectory(prefix="rp-chromium-") as profile:
            try:
                driver = browser(profile)
                run(s, driver)
            except (StepFailed, WebDriverException, ValueError, KeyError, IndexError) as e:
                if s.done < len(s.steps):
                    why = str(e) if isinstance(e, StepFailed) else f"{type(e).__name__}: {e}"
                    s.failed(s.steps[s.done], why)
                if driver and shots:
                    try:
                        driver.save_screenshot(os.path.join(shots, f"{name}.png"))
                    except WebDriverException:
                        pass
            finally:
                s.rest_not_reached()
                if driver:
                    try:
                        driver.quit()
                    except WebDriverException:
                        pass
    total = tally["passed"] + tally["failed"]
    print(f"rp: {tally['passed']} passed, {tally['failed']} failed")
    return 0 if total and not tally["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
