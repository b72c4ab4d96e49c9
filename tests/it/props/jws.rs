//! Properties of compact JWS verification.

use super::*;

static ED: LazyLock<SigningKeyRecord> =
    LazyLock::new(|| keys::generate(Timestamp(1)).expect("an Ed25519 key"));
static RSA: LazyLock<SigningKeyRecord> =
    LazyLock::new(|| keys::generate_rsa(Timestamp(1)).expect("an RSA key"));

fn both_keys() -> Vec<SigningKeyRecord> {
    vec![ED.clone(), RSA.clone()]
}

fn claims() -> impl Strategy<Value = Map<String, Value>> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        Just(Value::Null),
    ];
    prop::collection::btree_map("[a-z_]{1,8}", leaf, 0..6).prop_map(|m| m.into_iter().collect())
}

fn forge(header: &Value, payload: &str, signature: &str) -> String {
    format!("{}.{payload}.{signature}", b64url(header.to_string().as_bytes()))
}

/// Replaces the character at byte `i` (an ASCII character) of `s` with `c`.
fn replace_at(s: &str, i: usize, c: char) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    out.push_str(&s[..i]);
    out.push(c);
    out.push_str(&s[i + 1..]);
    out
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn arbitrary_text_never_verifies(
        token in prop_oneof![
            any::<String>(),
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 0..5)
                .prop_map(|parts| parts.iter().map(|p| b64url(p)).collect::<Vec<_>>().join(".")),
            prop::collection::vec("[A-Za-z0-9_=+/-]{0,40}", 0..5).prop_map(|p| p.join(".")),
        ]
    ) {
        prop_assert!(jwt::verify(&token, &both_keys(), None).is_err(), "{}", token);
    }

    #[test]
    fn signed_tokens_verify_to_their_claims(claims in claims(), rsa in any::<bool>()) {
        let key = if rsa { RSA.clone() } else { ED.clone() };
        let token = jwt::sign(&key, "at+jwt", &claims).expect("signing");
        prop_assert_eq!(jwt::verify(&token, &both_keys(), Some("at+jwt")), Ok(claims));
        prop_assert_eq!(jwt::verify(&token, &both_keys(), Some("JWT")), Err(JwtError::Type));
    }

    #[test]
    fn alg_none_is_refused_with_or_without_a_signature(
        alg in prop::sample::select(vec!["none", "None", "NONE", "nOnE"]),
        with_kid in any::<bool>(),
        claims in claims(),
        signature in prop_oneof![Just(String::new()), "[A-Za-z0-9_-]{1,90}"],
    ) {
        let header = if with_kid { json!({"alg": alg, "kid": ED.kid}) } else { json!({"alg": alg}) };
        let payload = b64url(Value::Object(claims).to_string().as_bytes());
        let token = forge(&header, &payload, &signature);
        prop_assert_eq!(jwt::verify(&token, &both_keys(), None), Err(JwtError::Algorithm));
    }

    #[test]
    fn unknown_algorithms_and_algorithms_the_key_lacks_are_refused(
        alg in prop_oneof![
            any::<String>(),
            prop::sample::select(vec!["HS256", "HS512", "RS512", "PS256", "ES256", "eddsa", "EDDSA", "ed25519", "rs256", "EdDSA ", ""])
                .prop_map(str::to_owned),
        ]
        .prop_filter("not an accepted name", |a| !matches!(a.as_str(), "EdDSA" | "Ed25519" | "RS256")),
        claims in claims(),
    ) {
        let good = jwt::sign(&ED, "JWT", &claims).expect("signing");
        let mut parts = good.split('.').skip(1);
        let (payload, signature) = (parts.next().unwrap(), parts.next().unwrap());
        let forged = forge(&json!({"alg": alg, "kid": ED.kid}), payload, signature);
        prop_assert_eq!(jwt::verify(&forged, &both_keys(), None), Err(JwtError::Algorithm));
        // A name the server knows, on a key of the other kind.
        let rs_on_ed = forge(&json!({"alg": "RS256", "kid": ED.kid}), payload, signature);
        prop_assert_eq!(jwt::verify(&rs_on_ed, &both_keys(), None), Err(JwtError::Algorithm));
        let ed_on_rsa = forge(&json!({"alg": "EdDSA", "kid": RSA.kid}), payload, signature);
        prop_assert_eq!(jwt::verify(&ed_on_rsa, &both_keys(), None), Err(JwtError::Algorithm));
        // A non-string algorithm.
        let numeric = forge(&json!({"alg": 1, "kid": ED.kid}), payload, signature);
        prop_assert_eq!(jwt::verify(&numeric, &both_keys(), None), Err(JwtError::Algorithm));
    }

    #[test]
    fn an_unknown_or_missing_kid_is_refused(
        kid in prop_oneof![
            any::<String>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(Value::Null),
        ]
        .prop_filter("not a known kid", |k| k.as_str() != Some(ED.kid.as_str()) && k.as_str() != Some(RSA.kid.as_str())),
        claims in claims(),
    ) {
        let good = jwt::sign(&ED, "JWT", &claims).expect("signing");
        let mut parts = good.split('.').skip(1);
        let (payload, signature) = (parts.next().unwrap(), parts.next().unwrap());
        let forged = forge(&json!({"alg": "EdDSA", "kid": kid}), payload, signature);
        prop_assert_eq!(jwt::verify(&forged, &both_keys(), None), Err(JwtError::UnknownKey));
        let kidless = forge(&json!({"alg": "EdDSA"}), payload, signature);
        prop_assert_eq!(jwt::verify(&kidless, &both_keys(), None), Err(JwtError::UnknownKey));
        // The right kid, but the key set no longer has it.
        prop_assert_eq!(jwt::verify(&good, std::slice::from_ref(&RSA), None), Err(JwtError::UnknownKey));
    }

    #[test]
    fn truncated_tokens_are_refused(claims in claims(), cut in any::<prop::sample::Index>()) {
        let ed = jwt::sign(&ED, "JWT", &claims).expect("signing");
        let short = &ed[..cut.index(ed.len())];
        prop_assert_eq!(jwt::verify(short, &both_keys(), None), Err(JwtError::Malformed), "{}", short);
        // An RSA signature has no fixed length here, so a shortened one may decode and then fail.
        let rs = jwt::sign(&RSA, "JWT", &claims).expect("signing");
        let short = &rs[..cut.index(rs.len())];
        let result = jwt::verify(short, &both_keys(), None);
        prop_assert!(matches!(result, Err(JwtError::Malformed | JwtError::Signature)), "{:?} for {}", result, short);
    }

    #[test]
    fn oversized_tokens_are_refused_before_anything_is_decoded(
        claims in claims(),
        extra in 1usize..2048,
        filler in "[A-Za-z0-9._-]",
    ) {
        let good = jwt::sign(&ED, "JWT", &claims).expect("signing");
        let padded = format!("{good}{}", filler.repeat(MAX_TOKEN_LEN + extra - good.len()));
        prop_assert_eq!(jwt::verify(&padded, &both_keys(), None), Err(JwtError::Oversized));
        let junk = filler.repeat(MAX_TOKEN_LEN + extra);
        prop_assert_eq!(jwt::verify(&junk, &both_keys(), None), Err(JwtError::Oversized));
    }

    #[test]
    fn bad_base64_is_refused(
        claims in claims(),
        part in 0usize..3,
        at in any::<prop::sample::Index>(),
        bad in prop::sample::select(vec!['+', '/', '=', '!', '*', ' ', '~', '%', 'é', '\u{0}']),
        rsa in any::<bool>(),
    ) {
        let key = if rsa { RSA.clone() } else { ED.clone() };
        let good = jwt::sign(&key, "JWT", &claims).expect("signing");
        let parts: Vec<&str> = good.split('.').collect();
        let start: usize = parts[..part].iter().map(|p| p.len() + 1).sum();
        let i = start + at.index(parts[part].len());
        let broken = replace_at(&good, i, bad);
        // The header and signature are decoded; the payload is covered by the signature, which
        // then no longer verifies.
        let expected = if part == 1 { JwtError::Signature } else { JwtError::Malformed };
        prop_assert_eq!(jwt::verify(&broken, &both_keys(), None), Err(expected), "{}", broken);
    }

    #[test]
    fn tampered_payloads_are_refused(
        claims in claims(),
        at in any::<prop::sample::Index>(),
        with in "[A-Za-z0-9_-]",
    ) {
        let good = jwt::sign(&ED, "JWT", &claims).expect("signing");
        let mut parts = good.split('.');
        let (header, payload, signature) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let i = at.index(payload.len());
        let c = with.chars().next().unwrap();
        prop_assume!(payload.as_bytes()[i] != c as u8);
        let tampered = format!("{header}.{}.{signature}", replace_at(payload, i, c));
        prop_assert_eq!(jwt::verify(&tampered, &both_keys(), None), Err(JwtError::Signature));
    }
}
