//! Properties of form parameters and HTTP Basic client credentials.

use super::*;

fn param_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code",
            "a",
            "A",
            "a b",
            "é"
        ])
        .prop_map(str::to_owned),
        "\\PC{0,6}",
    ]
}

fn param_value() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "\\PC{0,12}", "[&=+%; ]{1,6}",]
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn parameter_parsing_never_panics_and_stays_within_bounds(
        text in prop_oneof![
            any::<String>(),
            "([a-z%&=+;]|%[0-9a-fA-F]{0,2}|%[^0-9a-fA-F]){0,80}",
        ]
    ) {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes()).into_owned().collect();
        match Params::parse(&text) {
            Ok(params) => {
                prop_assert!(pairs.len() <= MAX_PARAMS);
                for (name, value) in &pairs {
                    prop_assert!(value.len() <= MAX_VALUE_LEN);
                    let first = pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
                    prop_assert_eq!(params.get(name), first.filter(|v| !v.is_empty()));
                }
            }
            Err(ParamsError::TooMany) => prop_assert!(pairs.len() > MAX_PARAMS),
            Err(ParamsError::TooLong(name)) => {
                prop_assert!(pairs.iter().any(|(n, v)| *n == name && v.len() > MAX_VALUE_LEN));
            }
        }
    }

    #[test]
    fn repeated_parameters_are_detected_and_the_first_value_is_kept(
        pairs in prop::collection::vec((param_name(), param_value()), 0..24)
    ) {
        let mut encoded = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            encoded.append_pair(k, v);
        }
        let params = Params::parse(&encoded.finish()).expect("few short parameters parse");
        for (name, _) in &pairs {
            let count = pairs.iter().filter(|(n, _)| n == name).count();
            prop_assert_eq!(params.is_repeated(name), count > 1, "{}", name);
            let first = pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
            prop_assert_eq!(params.get(name), first.filter(|v| !v.is_empty()));
        }
        prop_assert!(!params.is_repeated("never-sent"));
    }

    #[test]
    fn parameter_count_and_length_are_bounded(
        count in 0..(3 * MAX_PARAMS),
        len in (MAX_VALUE_LEN - 2)..=(MAX_VALUE_LEN + 2),
        percent_encoded in any::<bool>(),
    ) {
        let many: Vec<String> = (0..count).map(|i| format!("p{i}=1")).collect();
        let result = Params::parse(&many.join("&"));
        if count > MAX_PARAMS {
            prop_assert_eq!(result, Err(ParamsError::TooMany));
        } else {
            prop_assert!(result.is_ok());
        }
        // The bound is on the decoded value, however it was encoded.
        let value = if percent_encoded { "%41".repeat(len) } else { "A".repeat(len) };
        let result = Params::parse(&format!("state={value}"));
        if len > MAX_VALUE_LEN {
            prop_assert_eq!(result, Err(ParamsError::TooLong("state".into())));
        } else {
            prop_assert_eq!(result.map(|p| p.get("state").map(str::len)), Ok(Some(len)));
        }
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Text shaped like an `Authorization` header, valid or not.
fn authorization_like() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        prop::sample::select(vec![
            "Basic", "basic", "BASIC", "Bearer", "Digest", "Basic:", "", " Basic"
        ])
        .prop_map(str::to_owned),
        "[A-Za-z]{1,8}",
    ];
    let sep = prop::sample::select(vec![" ", "  ", "\t", "", " \t "]).prop_map(str::to_owned);
    let credentials = prop_oneof![
        // Real Basic credentials of arbitrary text, sometimes form-encoded first.
        ("\\PC{0,10}", any::<bool>()).prop_map(|(raw, encode)| {
            let inner = if encode { form_encode(&raw) } else { raw };
            STANDARD.encode(inner)
        }),
        // Base64 of arbitrary bytes (often not UTF-8, often without a colon).
        prop::collection::vec(any::<u8>(), 0..24).prop_map(|b| STANDARD.encode(b)),
        // Broken base64: wrong alphabet, padding or length.
        "[A-Za-z0-9+/=_!%-]{0,16}",
        any::<String>(),
    ];
    (scheme, sep, credentials).prop_map(|(s, sep, c)| format!("{s}{sep}{c}"))
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn client_credential_extraction_never_panics(
        header in prop::option::of(prop_oneof![any::<String>(), authorization_like()]),
        form_id in prop::option::of(any::<String>()),
        form_secret in prop::option::of(any::<String>()),
    ) {
        let _ = client_auth::extract(header.as_deref(), form_id.as_deref(), form_secret.as_deref());
    }

    #[test]
    fn an_authorization_header_is_either_basic_credentials_or_invalid_client(
        header in prop_oneof![any::<String>(), authorization_like()]
    ) {
        match client_auth::extract(Some(&header), None, None) {
            Ok(ClientCredentials::Basic { client_id, .. }) => {
                let scheme = header.trim().split(' ').next().unwrap_or_default();
                prop_assert!(scheme.eq_ignore_ascii_case("basic"), "{:?}", header);
                prop_assert!(!client_id.is_empty());
            }
            Ok(other) => prop_assert!(false, "{:?} read as {:?}", header, other),
            Err(e) => {
                prop_assert_eq!(e.error.code, ErrorCode::InvalidClient, "{:?}", header);
                prop_assert!(e.basic, "a bad header is answered with a Basic challenge: {:?}", header);
            }
        }
    }

    #[test]
    fn basic_credentials_round_trip_through_form_encoding(
        id in "\\PC{1,16}",
        secret in "\\PC{0,40}",
    ) {
        let header = format!("Basic {}", STANDARD.encode(format!("{}:{}", form_encode(&id), form_encode(&secret))));
        prop_assert_eq!(
            client_auth::extract(Some(&header), None, None),
            Ok(ClientCredentials::Basic { client_id: id, secret })
        );
    }

    #[test]
    fn malformed_basic_credentials_are_invalid_client(
        scheme in prop_oneof![
            "[A-Za-z]{1,8}".prop_filter("not Basic", |s| !s.eq_ignore_ascii_case("basic")),
            Just("Basic".to_owned()),
        ],
        junk in prop_oneof![
            // A character outside the standard base64 alphabet.
            ("[A-Za-z0-9]{0,8}", "[-_!*.~@]", "[A-Za-z0-9]{0,8}").prop_map(|(a, b, c)| format!("{a}{b}{c}")),
            // Valid base64 of text without a colon.
            "[^:]{0,12}".prop_map(|s| STANDARD.encode(s)),
            // Valid base64 of bytes that are not UTF-8.
            prop::collection::vec(128u8..192, 1..8).prop_map(|b| STANDARD.encode(b)),
            // An empty client id, or a broken percent-escape.
            "[a-z]{0,6}".prop_map(|s| STANDARD.encode(format!(":{s}"))),
            "%[g-z]?|%[0-9]".prop_map(|bad| STANDARD.encode(format!("app{bad}:secret"))),
        ],
    ) {
        let e = client_auth::extract(Some(&format!("{scheme} {junk}")), Some("app"), None)
            .expect_err("a malformed header is refused");
        prop_assert_eq!(e.error.code, ErrorCode::InvalidClient);
        prop_assert!(e.basic);
    }
}
