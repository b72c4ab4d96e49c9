//! Serving HTTP: binding the listener (plain, or TLS through [`super::tls`]) and running poem's
//! server over the routes until a shutdown signal, finishing requests in flight.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use poem::Server;
use poem::listener::{Acceptor, AcceptorExt as _, BoxAcceptor, Listener, TcpListener};

use crate::service::App;
use crate::tls::{TlsError, TlsFiles};

/// Why the listener could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The address cannot be bound.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The TLS certificate or key cannot be served.
    #[error("{0}")]
    Tls(TlsError),
}

/// A bound listener, ready to serve.
pub struct Listening {
    acceptor: BoxAcceptor,
    addresses: Vec<String>,
}

/// Binds `listen`, and with `tls` loads the certificate and key and starts watching them.
pub async fn bind(listen: SocketAddr, tls: Option<&TlsFiles>) -> Result<Listening, BindError> {
    let tcp = TcpListener::bind(listen).into_acceptor().await?;
    let addresses = tcp.local_addr().iter().map(ToString::to_string).collect();
    let acceptor: BoxAcceptor = match tls {
        Some(files) => super::tls::acceptor(tcp, files).map_err(BindError::Tls)?.boxed(),
        None => tcp.boxed(),
    };
    Ok(Listening { acceptor, addresses })
}

impl Listening {
    /// The addresses the listener is bound to, for the log.
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }

    /// Serves the routes of `app` until `shutdown` completes, then gives requests in flight up to
    /// `grace` to finish.
    pub async fn serve(
        self,
        app: App,
        shutdown: impl Future<Output = ()> + Send,
        grace: Duration,
    ) -> std::io::Result<()> {
        let routes = super::routes(app);
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(routes, shutdown, Some(grace))
            .await
    }
}
