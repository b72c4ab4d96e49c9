//! The HTTP clients for the server's own calls (back-channel logout, upstream providers), built in
//! one place so that every call obeys [`OutboundPolicy`]: names are resolved by a resolver that
//! checks every address and hands only checked addresses to the connection (so a DNS answer that
//! changes between a check and the connect cannot slip through), address literals are checked
//! before sending, redirects are never followed, no proxy is used and every call has a timeout.

use super::start::StartError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::{OutboundPolicy, OutboundRefusal};

/// Resolves host names and refuses the name if any of its addresses is one the policy refuses.
#[derive(Debug)]
pub struct CheckedResolver {
    policy: Arc<OutboundPolicy>,
}

impl CheckedResolver {
    pub fn new(policy: Arc<OutboundPolicy>) -> CheckedResolver {
        CheckedResolver { policy }
    }

    /// The checked addresses of `host`, or why it may not be called.
    pub async fn lookup(
        &self,
        host: &str,
    ) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
        if addrs.is_empty() {
            return Err(format!("`{host}` has no address").into());
        }
        // Every address is checked, not only the first: the connection may try any of them.
        for addr in &addrs {
            self.policy.check_address(host, addr.ip())?;
        }
        Ok(addrs)
    }
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = CheckedResolver {
            policy: Arc::clone(&self.policy),
        };
        Box::pin(async move {
            let addrs = resolver.lookup(name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// An HTTP client for outbound calls and the policy it enforces.
#[derive(Debug, Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Arc<OutboundPolicy>,
}

impl Outbound {
    /// A client under `policy` whose calls take at most `timeout` (connecting included), for
    /// `purpose` (named in the error). A client that cannot be built is an error at start, never
    /// a default client without these defences.
    pub fn new(policy: &OutboundPolicy, timeout: StdDuration, purpose: &str) -> Result<Outbound, StartError> {
        let policy = Arc::new(policy.clone());
        let client = reqwest::Client::builder()
            // A redirect is refused, not followed: it could point anywhere (the openidconnect
            // crate's advice against SSRF).
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself, past the resolver's checks.
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver::new(Arc::clone(&policy))))
            // Some APIs (GitHub's) refuse requests without a User-Agent.
            .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| StartError::HttpClient {
                purpose: purpose.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Outbound { client, policy })
    }

    /// Checks what the resolver cannot see: an address literal in the URL (which is connected
    /// to without resolution) and `localhost` names.
    pub fn check(&self, url: &str) -> Result<(), OutboundRefusal> {
        self.policy.check_url(url)
    }

    /// The client itself, for a URL that [`Outbound::check`] accepted.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// The `oauth2`/`openidconnect` crates' HTTP client: every request's URL (discovered endpoints
/// included) is checked before it is sent.
impl<'c> oauth2::AsyncHttpClient<'c> for Outbound {
    type Error = oauth2::HttpClientError<reqwest::Error>;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, Self::Error>> + Send + Sync + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        let checked = self.check(&request.uri().to_string());
        Box::pin(async move {
            checked.map_err(|e| oauth2::HttpClientError::Other(e.to_string()))?;
            self.client.call(request).await
        })
    }
}

/// The policy's refusal somewhere in an error's sources (a refused address from the resolver).
pub fn refusal_in<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e OutboundRefusal> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(refusal) = err.downcast_ref::<OutboundRefusal>() {
            return Some(refusal);
        }
        current = err.source();
    }
    None
}

/// An error with its sources, for a log line.
pub fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback() -> OutboundPolicy {
        OutboundPolicy {
            allow_networks: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_loopback_unless_loopback_is_allowed() {
        // `localhost` resolves to a loopback address on every machine: this is the check a DNS
        // name pointing at an internal address meets at delivery time.
        let strict = CheckedResolver::new(Arc::new(OutboundPolicy::default()));
        let e = strict.lookup("localhost").await.unwrap_err().to_string();
        assert!(e.contains("loopback"), "{e}");
        let allowed = CheckedResolver::new(Arc::new(loopback()));
        let addrs = allowed.lookup("localhost").await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }

    #[tokio::test]
    async fn the_oauth2_crates_calls_to_address_literals_are_checked_too() {
        // Discovered endpoints (token, JWKS, user info) may name any address; a literal never
        // reaches the resolver, so the client wrapper checks it.
        use oauth2::AsyncHttpClient as _;
        let strict = Outbound::new(&OutboundPolicy::default(), StdDuration::from_secs(5), "a test").unwrap();
        for url in [
            "http://127.0.0.1:9/token",
            "https://[::ffff:169.254.169.254]/jwks",
        ] {
            let request = oauth2::http::Request::get(url).body(Vec::new()).unwrap();
            let e = strict.call(request).await.unwrap_err().to_string();
            assert!(e.contains("allow_networks"), "{url}: {e}");
        }
    }

    #[tokio::test]
    async fn a_call_through_a_name_that_resolves_to_loopback_is_refused_before_connecting() {
        // Nothing listens here; the refusal must come from the resolver, not the connection.
        let strict = Outbound::new(&OutboundPolicy::default(), StdDuration::from_secs(5), "a test").unwrap();
        let e = strict
            .client()
            .post("http://localhost:9/")
            .send()
            .await
            .unwrap_err();
        let text = describe(&e);
        assert!(text.contains("loopback"), "{text}");
        assert!(
            refusal_in(&e).is_some(),
            "the refusal is found among the sources: {text}"
        );
    }
}
