//! Authentication method references (RFC 8176): how a sign-in was proven, as typed values that
//! read and write as the registered strings.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One authentication method reference, as carried in a session, a code, a grant and the `amr`
/// claim of an ID token. Stored and sent as its string (`"pwd"`, `"upstream:github"`), so records
/// and tokens read exactly as before the values were typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Amr {
    /// A password (RFC 8176 `pwd`).
    Pwd,
    /// A proof of possession of a hardware-secured key (RFC 8176 `hwk`).
    Hwk,
    /// A proof of possession of a software-secured key (RFC 8176 `swk`).
    Swk,
    /// A one-time password (RFC 8176 `otp`).
    Otp,
    /// More than one factor (RFC 8176 `mfa`).
    Mfa,
    /// User presence was tested (RFC 8176 `user`).
    User,
    /// A sign-in federated from another identity provider (`fed`, as Latchkey has always written it
    /// beside the upstream's name).
    Fed,
    /// The upstream provider that vouched for the user (`upstream:NAME`).
    Upstream(String),
    /// A value in a stored record that this version does not know; kept as it was.
    Other(String),
}

impl Amr {
    /// The value as the `amr` claim carries it.
    pub fn as_string(&self) -> String {
        match self {
            Amr::Pwd => "pwd".to_owned(),
            Amr::Hwk => "hwk".to_owned(),
            Amr::Swk => "swk".to_owned(),
            Amr::Otp => "otp".to_owned(),
            Amr::Mfa => "mfa".to_owned(),
            Amr::User => "user".to_owned(),
            Amr::Fed => "fed".to_owned(),
            Amr::Upstream(name) => format!("upstream:{name}"),
            Amr::Other(value) => value.clone(),
        }
    }

    /// Reads a value as stored or sent; an unknown one becomes [`Amr::Other`].
    pub fn parse(value: &str) -> Amr {
        match value {
            "pwd" => Amr::Pwd,
            "hwk" => Amr::Hwk,
            "swk" => Amr::Swk,
            "otp" => Amr::Otp,
            "mfa" => Amr::Mfa,
            "user" => Amr::User,
            "fed" => Amr::Fed,
            other => match other.strip_prefix("upstream:") {
                Some(name) => Amr::Upstream(name.to_owned()),
                None => Amr::Other(other.to_owned()),
            },
        }
    }
}

impl fmt::Display for Amr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_string())
    }
}

impl From<Amr> for String {
    fn from(a: Amr) -> String {
        a.as_string()
    }
}

impl From<String> for Amr {
    fn from(s: String) -> Amr {
        Amr::parse(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_and_write_as_their_registered_strings() {
        let all = vec![
            Amr::Pwd,
            Amr::Hwk,
            Amr::Swk,
            Amr::Otp,
            Amr::Mfa,
            Amr::User,
            Amr::Fed,
            Amr::Upstream("github".into()),
            Amr::Other("face".into()),
        ];
        let json = serde_json::to_string(&all).unwrap();
        assert_eq!(
            json,
            r#"["pwd","hwk","swk","otp","mfa","user","fed","upstream:github","face"]"#
        );
        let back: Vec<Amr> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, all);
    }
}
