//! The poem side of built-in TLS: an acceptor that takes TCP connections, completes each TLS
//! handshake in its own task (bounded by [`HANDSHAKE_WITHIN`], so a slow client cannot hold up
//! the accept loop) and hands the finished connections to poem's server. The certificate, its
//! checks and its reloading are `crate::tls`.

use std::io;
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

use crate::tls::{TlsError, TlsFiles, server_config};

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_WITHIN: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the server to take them.
const QUEUE: usize = 64;

/// Wraps `tcp` in TLS with the certificate and key of `files`, and starts watching them.
pub fn acceptor(tcp: TcpAcceptor, files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let tls = tokio_rustls::TlsAcceptor::from(server_config(files)?);
    let local = tcp.local_addr();
    let (sender, incoming) = mpsc::channel(QUEUE);
    tokio::spawn(accept_forever(tcp, tls, sender));
    Ok(TlsAcceptor { local, incoming })
}

type Handshaken = (TlsStream<TcpStream>, LocalAddr, RemoteAddr);

/// Accepts TCP connections and completes each handshake in its own task, until the server
/// stops taking connections.
async fn accept_forever(mut tcp: TcpAcceptor, tls: tokio_rustls::TlsAcceptor, out: mpsc::Sender<Handshaken>) {
    loop {
        let accepted = tokio::select! {
            _ = out.closed() => return,
            accepted = tcp.accept() => accepted,
        };
        let (stream, local, remote, _) = match accepted {
            Ok(connection) => connection,
            Err(e) => {
                // Out of file descriptors and the like: pause rather than spin.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let tls = tls.clone();
        let out = out.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_WITHIN, tls.accept(stream)).await {
                Ok(Ok(io)) => {
                    let _ = out.send((io, local, remote)).await;
                }
                Ok(Err(e)) => tracing::debug!(peer = %remote, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(peer = %remote, "TLS handshake timed out"),
            }
        });
    }
}

/// Connections whose TLS handshake is done, for poem's server.
pub struct TlsAcceptor {
    local: Vec<LocalAddr>,
    incoming: mpsc::Receiver<Handshaken>,
}

impl Acceptor for TlsAcceptor {
    type Io = TlsStream<TcpStream>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.local.clone()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        match self.incoming.recv().await {
            Some((io, local, remote)) => Ok((io, local, remote, Scheme::HTTPS)),
            // The accept task only ends when this receiver is gone; never busy-loop the server.
            None => std::future::pending().await,
        }
    }
}
