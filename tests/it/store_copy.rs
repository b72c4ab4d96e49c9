//! `latchkey store copy`: a redb file into PostgreSQL and back, with progress, checked, and with
//! the issuer's keys and a refresh token still working after each move; a non-empty target is
//! refused.

use reqwest::StatusCode;

use crate::flows::{
    self, ClientAuth, SERVICE_SECRET, SERVICE_SECRET_VAR, WEB_ID, WEB_SECRET, WEB_SECRET_VAR,
    assert_token_pair, authorization_code, clients_config,
};
use crate::harness::{PgStore, Server, assert_failure, assert_success, parse_json, postgres_url};

const WEB: ClientAuth<'static> = ClientAuth::Basic {
    id: WEB_ID,
    secret: WEB_SECRET,
};

/// The kids of `keys list --json`.
fn kids(list: &serde_json::Value) -> Vec<String> {
    let mut kids: Vec<String> = list
        .as_array()
        .expect("a key list")
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect();
    kids.sort();
    kids
}

fn schema_name() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator");
    format!(
        "copy_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_copied_into_postgres_and_back_keeps_its_keys_and_tokens_working() {
    let mut server = Server::with_config(|port| crate::harness::default_config(port) + &clients_config());
    server
        .on_file()
        .env(WEB_SECRET_VAR, WEB_SECRET)
        .env(SERVICE_SECRET_VAR, SERVICE_SECRET);
    server.start();
    assert_success(&server.cli_stdin(
        &["user", "add", flows::USERNAME, "--password-stdin"],
        &format!("{}\n", flows::PASSWORD),
    ));
    let http = crate::harness::http();
    let base = server.base_url();
    let tokens = flows::redeem(&http, &base, WEB, &authorization_code(&base, WEB_ID).await).await;
    assert_token_pair(&tokens);
    let refresh = tokens.string("refresh_token");
    let keys = kids(&server.cli_json(&["keys", "list", "--json"]));
    assert!(!keys.is_empty());
    assert!(server.terminate().success());

    // Into PostgreSQL.
    let pg = PgStore {
        url: postgres_url(),
        schema: schema_name(),
    };
    let data = server.data_path().display().to_string();
    let copied = server.cli(&[
        "store", "copy", "--from", &data, "--to", &pg.url, "--schema", &pg.schema, "--json",
    ]);
    assert_success(&copied);
    let report = parse_json(&copied);
    assert_eq!(report["checked"], true, "{report}");
    assert!(
        report["tables"]["users"] == 1 && report["tables"]["signing_keys"].as_u64() >= Some(1),
        "{report}"
    );
    let progress = String::from_utf8_lossy(&copied.stderr);
    assert!(
        progress.contains("copying table users"),
        "progress is shown: {progress}"
    );
    assert!(
        !progress.contains(&pg.url) && !String::from_utf8_lossy(&copied.stdout).contains(&pg.url),
        "the URL is never printed"
    );

    // A second copy into the same schema is refused: it is no longer empty.
    let again = assert_failure(&server.cli(&[
        "store", "copy", "--from", &data, "--to", &pg.url, "--schema", &pg.schema,
    ]));
    assert!(again.contains("is not empty"), "{again}");

    server.on_postgres(pg.clone());
    server.start();
    assert_eq!(
        kids(&server.cli_json(&["keys", "list", "--json"])),
        keys,
        "the same keys"
    );
    let rotated = flows::refresh(&http, &base, WEB, &refresh).await;
    assert_token_pair(&rotated);
    let refresh = rotated.string("refresh_token");
    assert!(server.terminate().success());

    // And back into a new redb file.
    let back = server.dir().join("data").join("back.redb").display().to_string();
    let copied = server.cli(&[
        "store", "copy", "--from", &pg.url, "--schema", &pg.schema, "--to", &back, "--json",
    ]);
    assert_success(&copied);
    server.on_file().env("LATCHKEY_DATA", back.clone());
    server.start();
    assert_eq!(kids(&server.cli_json(&["keys", "list", "--json"])), keys);
    let rotated = flows::refresh(&http, &base, WEB, &refresh).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
}
