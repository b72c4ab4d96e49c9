//! Validating `[[client]]` tables: the OAuth clients declared in the file, with their secrets.

use std::path::Path;

use super::MIN_SECRET_LEN;
use super::raw::RawClient;
use super::secret::{FileMode, SecretKeys};
use super::validate::Validator;
use crate::crypto;
use crate::domain::{
    Client, ClientIcon, ClientId, ClientSecretDigest, ClientSource, GrantType, IdTokenAlg, LaunchUrl,
    RedirectUri, RequiredFactors, Scope, Timestamp, valid_group,
};
use crate::protocol::login::Acr;

impl Validator<'_> {
    pub(super) fn client(&mut self, index: usize, rc: RawClient, base: Option<&Path>) -> Option<Client> {
        let key = |field: &str| format!("client[{index}].{field}");
        let before = self.problems.len();
        let client_id = match ClientId::parse(rc.client_id.get_ref()) {
            Ok(id) => Some(id),
            Err(e) => {
                self.problem(&key("client_id"), Some(&rc.client_id), e.0);
                None
            }
        };
        let mut redirect_uris = Vec::new();
        for uri in &rc.redirect_uris {
            match RedirectUri::parse_for(uri.get_ref(), rc.allow_http_localhost) {
                Ok(u) => redirect_uris.push(u),
                Err(e) => self.problem(&key("redirect_uris"), Some(uri), e.to_string()),
            }
        }
        let grant_types = match &rc.grant_types {
            None => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            Some(list) => {
                let mut out = Vec::new();
                for g in list {
                    match g.get_ref().parse::<GrantType>() {
                        Ok(g) if !out.contains(&g) => out.push(g),
                        Ok(_) => {}
                        Err(e) => self.problem(&key("grant_types"), Some(g), e),
                    }
                }
                out
            }
        };
        let mut scopes = Vec::new();
        for s in &rc.scopes {
            match Scope::parse(s.get_ref()) {
                Ok(s) if !scopes.contains(&s) => scopes.push(s),
                Ok(_) => {}
                Err(e) => self.problem(&key("scopes"), Some(s), e.0),
            }
        }
        let secret_sources = [
            rc.secret_file.is_some(),
            rc.secret_env.is_some(),
            rc.secret_digest.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        let secret = if rc.public {
            if secret_sources > 0 {
                self.problem(
                    &key("public"),
                    Some(&rc.client_id),
                    "a public client has no secret; remove secret_file, secret_env and secret_digest",
                );
            }
            None
        } else if secret_sources != 1 {
            self.problem(
                &key("secret_file"),
                Some(&rc.client_id),
                "a confidential client needs exactly one of secret_file, secret_env or secret_digest (or `public = true`)",
            );
            None
        } else {
            self.client_secret(&rc, base, &key)
        };
        let id_token_alg = match &rc.id_token_signed_response_alg {
            None => IdTokenAlg::default(),
            Some(a) => a.get_ref().parse().unwrap_or_else(|e: String| {
                self.problem(&key("id_token_signed_response_alg"), Some(a), e);
                IdTokenAlg::default()
            }),
        };
        let mut post_logout_redirect_uris = Vec::new();
        for uri in &rc.post_logout_redirect_uris {
            match RedirectUri::parse_for(uri.get_ref(), rc.allow_http_localhost) {
                Ok(u) => post_logout_redirect_uris.push(u),
                Err(e) => self.problem(&key("post_logout_redirect_uris"), Some(uri), e.to_string()),
            }
        }
        let backchannel_logout_uri = match &rc.backchannel_logout_uri {
            None => None,
            Some(uri) => match RedirectUri::parse(uri.get_ref()) {
                Ok(u) => match self.outbound.check_url(u.as_str()) {
                    Ok(()) => Some(u),
                    Err(e) => {
                        self.problem(&key("backchannel_logout_uri"), Some(uri), e.to_string());
                        None
                    }
                },
                Err(e) => {
                    self.problem(&key("backchannel_logout_uri"), Some(uri), e.to_string());
                    None
                }
            },
        };
        let require_factors = self.required_factors(&rc, &key);
        let mut allowed_groups = Vec::new();
        for g in &rc.allowed_groups {
            if valid_group(g.get_ref()) {
                allowed_groups.push(g.get_ref().clone());
            } else {
                self.problem(
                    &key("allowed_groups"),
                    Some(g),
                    "a group is 1 to 64 letters, digits, '.', '_' or '-'",
                );
            }
        }
        allowed_groups.sort();
        allowed_groups.dedup();
        let launch_url = rc.launch_url.as_ref().and_then(|u| {
            LaunchUrl::parse(u.get_ref())
                .map_err(|e| self.problem(&key("launch_url"), Some(u), e.to_string()))
                .ok()
        });
        let icon = rc.icon.as_ref().and_then(|i| {
            ClientIcon::parse(i.get_ref())
                .map_err(|e| self.problem(&key("icon"), Some(i), e.to_string()))
                .ok()
        });
        if self.problems.len() > before {
            return None;
        }
        let client_id = client_id?;
        let client = Client {
            id_token_alg,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            refresh_without_offline_access: rc.refresh_without_offline_access,
            name: rc.name.unwrap_or_else(|| client_id.to_string()),
            client_id,
            redirect_uris,
            secret,
            grant_types,
            scopes,
            first_party: rc.first_party,
            require_pkce: rc.require_pkce.as_ref().map(|p| *p.get_ref()),
            allow_http_localhost: rc.allow_http_localhost,
            resources: {
                let mut out: Vec<String> = Vec::new();
                for r in &rc.resources {
                    if !out.contains(r.get_ref()) {
                        out.push(r.get_ref().clone());
                    }
                }
                out
            },
            source: ClientSource::Config,
            created_at: Timestamp(0),
            require_factors,
            allowed_groups,
            launch_url,
            icon,
        };
        let violations = client.rule_violations();
        for (field, reason) in &violations {
            match (*field, rc.require_pkce.as_ref(), rc.resources.first()) {
                ("require_pkce", Some(at), _) => self.problem(&key(field), Some(at), reason.to_string()),
                ("resources", _, Some(at)) => self.problem(&key(field), Some(at), reason.to_string()),
                ("launch_url", _, _) if rc.launch_url.is_some() => {
                    self.problem(&key(field), rc.launch_url.as_ref(), reason.to_string())
                }
                _ => self.problem(&key(field), Some(&rc.client_id), reason.to_string()),
            }
        }
        violations.is_empty().then_some(client)
    }

    /// `require_factors = 1 | 2`, or the same said as `acr = "1fa" | "2fa"`; not both.
    fn required_factors(&mut self, rc: &RawClient, key: &dyn Fn(&str) -> String) -> RequiredFactors {
        match (&rc.require_factors, &rc.acr) {
            (None, None) => RequiredFactors::default(),
            (Some(_), Some(acr)) => {
                self.problem(
                    &key("acr"),
                    Some(acr),
                    "give require_factors or acr, not both (they say the same thing)",
                );
                RequiredFactors::default()
            }
            (Some(n), None) => u64::try_from(*n.get_ref())
                .ok()
                .and_then(RequiredFactors::from_count)
                .unwrap_or_else(|| {
                    self.problem(
                        &key("require_factors"),
                        Some(n),
                        "must be 1 (any sign-in) or 2 (a second factor, asked for when the session has none)",
                    );
                    RequiredFactors::default()
                }),
            (None, Some(acr)) => match Acr::parse(acr.get_ref()) {
                Some(Acr::OneFactor) => RequiredFactors::One,
                Some(Acr::TwoFactors) => RequiredFactors::Two,
                None => {
                    self.problem(
                        &key("acr"),
                        Some(acr),
                        format!("unknown acr `{}` (expected \"1fa\" or \"2fa\")", acr.get_ref()),
                    );
                    RequiredFactors::default()
                }
            },
        }
    }

    pub(super) fn client_secret(
        &mut self,
        rc: &RawClient,
        base: Option<&Path>,
        key: &dyn Fn(&str) -> String,
    ) -> Option<ClientSecretDigest> {
        let named = match (&rc.secret_file, &rc.secret_env) {
            (Some(f), _) => Some(("secret_file", f)),
            (None, Some(e)) => Some(("secret_env", e)),
            (None, None) => None,
        };
        let (field, at, plain) = if let Some((field, at)) = named {
            let (file_key, env_key) = (key("secret_file"), key("secret_env"));
            let keys = SecretKeys {
                file_key: &file_key,
                file: rc.secret_file.as_ref(),
                env_key: &env_key,
                // `secret_file` wins when both are written (the two are refused together elsewhere).
                env: rc.secret_env.as_ref().filter(|_| rc.secret_file.is_none()),
            };
            (field, at, self.secret(keys, base, FileMode::Any)?)
        } else if let Some(d) = &rc.secret_digest {
            let decoded = d
                .get_ref()
                .strip_prefix("sha256:")
                .and_then(crypto::b64url_decode)
                .and_then(|b| <[u8; 32]>::try_from(b).ok());
            return match decoded {
                Some(digest) => Some(ClientSecretDigest(digest)),
                None => {
                    self.problem(
                        &key("secret_digest"),
                        Some(d),
                        "must be `sha256:` followed by 43 base64url characters, as `latchkey client hash-secret` prints",
                    );
                    None
                }
            };
        } else {
            return None;
        };
        if plain.len() < MIN_SECRET_LEN {
            self.problem(
                &key(field),
                Some(at),
                format!("the secret must have at least {MIN_SECRET_LEN} characters"),
            );
            return None;
        }
        Some(ClientSecretDigest(crypto::sha256(plain.as_bytes())))
    }
}
