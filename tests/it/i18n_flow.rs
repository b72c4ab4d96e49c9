//! The pages in Korean: the language comes from `ui_locales` (and stays through the login POST
//! and consent), then the `latchkey-lang` cookie the switcher sets, then `Accept-Language`, then
//! `[ui] default_language`; English stays exactly as it was.

use poem::http::{Method, StatusCode};

use crate::inproc::{InProc, PASSWORD, REDIRECT};

const KO_LOGIN: &str = "<h1>로그인</h1>";
const EN_LOGIN: &str = "<h1>Sign in</h1>";

fn lang_of(body: &str) -> &str {
    let start = body.find("<html lang=\"").map(|i| i + 12).unwrap_or(0);
    let end = body[start..].find('"').map_or(start, |e| start + e);
    &body[start..end]
}

async fn get_with(s: &mut InProc, uri: &str, headers: &[(&str, &str)]) -> crate::inproc::Reply {
    s.send(Method::GET, uri, None, headers).await
}

#[tokio::test]
async fn ui_locales_ko_shows_the_korean_login_and_consent_pages_through_the_login_post() {
    let mut s = InProc::new("").await;
    let uri = InProc::authorize_uri("web", REDIRECT, &[("ui_locales", "ko")]);
    let login = s.get(&uri).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(lang_of(&login.body), "ko", "{}", login.body);
    assert!(login.body.contains(KO_LOGIN), "{}", login.body);
    assert!(login.body.contains("<label for=\"password\">비밀번호</label>"));
    assert!(
        login
            .body
            .contains("<strong>Web App</strong> 애플리케이션으로 이동하려면 로그인하십시오")
    );
    assert!(login.field("return_to").contains("ui_locales=ko"));

    // A wrong password: the POST's page is Korean too (the language rides in `return_to`).
    let wrong = s.login_from(&login, "alice", "not the password").await;
    assert_eq!(lang_of(&wrong.body), "ko");
    assert!(
        wrong
            .body
            .contains("사용자 이름 또는 비밀번호가 올바르지 않습니다."),
        "{}",
        wrong.body
    );

    let signed_in = s.login_from(&wrong, "alice", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let consent = s.get(signed_in.location()).await;
    assert_eq!(lang_of(&consent.body), "ko", "{}", consent.body);
    assert!(
        consent.body.contains("<h1>접근을 허용하시겠습니까?</h1>"),
        "{}",
        consent.body
    );
    assert!(consent.body.contains(
        "<strong>Web App</strong> 애플리케이션이 <strong>alice</strong> 계정의 사용을 요청합니다."
    ));
    assert!(
        consent.body.contains("이름과 사용자 이름 보기"),
        "the scopes are Korean"
    );
    assert!(consent.body.contains(">허용</button>"));
}

#[tokio::test]
async fn the_same_pages_stay_english_without_a_language_asked_for() {
    let mut s = InProc::new("").await;
    let login = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    assert_eq!(lang_of(&login.body), "en");
    assert!(login.body.contains(EN_LOGIN));
    assert!(login.body.contains("<strong>Web App</strong>"));
    assert!(login.body.contains("to continue to <strong>Web App</strong>"));
    assert!(
        login.body.contains("action=\"/language\""),
        "the switcher is on the page"
    );
}

#[tokio::test]
async fn accept_language_ko_kr_shows_korean_and_q_values_are_honoured() {
    let mut s = InProc::new("").await;
    let ko = get_with(
        &mut s,
        "/login",
        &[("accept-language", "ko-KR,ko;q=0.9,en;q=0.5")],
    )
    .await;
    assert_eq!(lang_of(&ko.body), "ko");
    assert!(ko.body.contains(KO_LOGIN));
    let en = get_with(&mut s, "/login", &[("accept-language", "ko;q=0.3, en-US;q=0.8")]).await;
    assert_eq!(lang_of(&en.body), "en");
    let fr = get_with(&mut s, "/login", &[("accept-language", "fr-FR, fr;q=0.9")]).await;
    assert_eq!(
        lang_of(&fr.body),
        "en",
        "an unsupported language falls back to the default"
    );
}

#[tokio::test]
async fn ui_locales_fr_ko_picks_ko() {
    let mut s = InProc::new("").await;
    let uri = InProc::authorize_uri("web", REDIRECT, &[("ui_locales", "fr ko")]);
    let login = s.get(&uri).await;
    assert_eq!(lang_of(&login.body), "ko");
    let uri = InProc::authorize_uri("web", REDIRECT, &[("ui_locales", "fr de")]);
    let login = s.get(&uri).await;
    assert_eq!(lang_of(&login.body), "en");
}

#[tokio::test]
async fn the_switcher_sets_a_cookie_that_overrides_accept_language_and_yields_to_ui_locales() {
    let mut s = InProc::new("").await;
    let english = get_with(&mut s, "/login", &[("accept-language", "en")]).await;
    let csrf = english.field("csrf");
    let switched = s
        .post(
            "/language",
            &[("csrf", &csrf), ("lang", "ko"), ("back", "/login?fresh=1")],
        )
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    assert_eq!(switched.location(), "/login?fresh=1");
    let cookie = switched.header("set-cookie").unwrap_or_default();
    assert!(cookie.starts_with("latchkey-lang=ko;"), "{cookie}");
    assert!(
        cookie.contains("SameSite=Lax") && cookie.contains("Max-Age="),
        "{cookie}"
    );

    let korean = get_with(&mut s, "/login", &[("accept-language", "en")]).await;
    assert_eq!(lang_of(&korean.body), "ko", "the cookie beats Accept-Language");
    let uri = InProc::authorize_uri("web", REDIRECT, &[("ui_locales", "en")]);
    let asked = get_with(&mut s, &uri, &[("accept-language", "ko")]).await;
    assert_eq!(lang_of(&asked.body), "en", "ui_locales beats the cookie");

    // Back to English from a page whose address asked for Korean: the way back asks for English.
    let uri = InProc::authorize_uri("web", REDIRECT, &[("ui_locales", "ko")]);
    let page = s.get(&uri).await;
    let back = page.field("back");
    assert!(back.starts_with("/oauth/authorize?"), "{back}");
    let csrf = page.field("csrf");
    let switched = s
        .post("/language", &[("csrf", &csrf), ("lang", "en"), ("back", &back)])
        .await;
    assert!(
        switched.location().contains("ui_locales=en"),
        "{}",
        switched.location()
    );
    let again = s.get(switched.location()).await;
    assert_eq!(lang_of(&again.body), "en");
}

#[tokio::test]
async fn the_switcher_refuses_a_missing_token_and_goes_back_only_to_a_local_path() {
    let mut s = InProc::new("").await;
    let refused = s.post("/language", &[("lang", "ko"), ("back", "/account")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused
            .header("set-cookie")
            .is_none_or(|c| !c.contains("latchkey-lang"))
    );
    let page = s.get("/login").await;
    let csrf = page.field("csrf");
    for back in ["//evil.example/", "https://evil.example/", "/\\evil.example"] {
        let r = s
            .post("/language", &[("csrf", &csrf), ("lang", "ko"), ("back", back)])
            .await;
        assert_eq!(r.location(), "/", "{back}");
    }
    let unknown = s
        .post("/language", &[("csrf", &csrf), ("lang", "fr"), ("back", "/")])
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn default_language_ko_applies_when_nothing_else_says() {
    let mut s = InProc::new("\n[ui]\ndefault_language = \"ko\"\n").await;
    let page = s.get("/login").await;
    assert_eq!(lang_of(&page.body), "ko");
    let en = get_with(&mut s, "/login", &[("accept-language", "en")]).await;
    assert_eq!(lang_of(&en.body), "en", "the browser's language comes first");
}

#[test]
fn default_language_must_be_a_supported_one() {
    let text = "issuer = \"https://id.example.test\"\n[ui]\ndefault_language = \"fr\"\n";
    let err = latchkey::config::parse("test", text, None, &latchkey::config::Overrides::default())
        .expect_err("fr is not a language of the pages");
    let message = err.to_string();
    assert!(
        message.contains("ui.default_language") && message.contains("en, ko"),
        "{message}"
    );
}

#[tokio::test]
async fn discovery_lists_the_ui_locales_supported() {
    let mut s = InProc::new("").await;
    let doc = s.get("/.well-known/openid-configuration").await.json();
    assert_eq!(doc["ui_locales_supported"], serde_json::json!(["en", "ko"]));
}

#[tokio::test]
async fn the_account_page_in_korean_writes_dates_the_korean_way() {
    let mut s = InProc::new("").await;
    let uri = InProc::authorize_uri("web", REDIRECT, &[]);
    s.authorize(&uri).await;
    let en = s.get("/account").await;
    assert!(
        en.body.contains("Signed in 2027-01-15 08:00 UTC with a password"),
        "{}",
        en.body
    );
    let ko = get_with(&mut s, "/account", &[("accept-language", "ko")]).await;
    assert_eq!(lang_of(&ko.body), "ko");
    assert!(
        ko.body
            .contains("2027년 1월 15일 08:00 UTC에 비밀번호(으)로 로그인"),
        "{}",
        ko.body
    );
    assert!(ko.body.contains("<h1>내 계정</h1>"));
}
