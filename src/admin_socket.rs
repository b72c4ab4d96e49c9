//! The local admin channel: a Unix socket beside the data file, mode 0600, through which CLI
//! commands reach a running server. Each connection carries one JSON request line and gets one
//! JSON reply line: the request is an [`AdminRequest`], the reply the command's output (or its
//! error), which [`call`] reads back as that command's `Output` type. Only the data file's owner (or root) may talk to it: the socket's mode says so,
//! and every connection's peer credentials are checked as well.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::service::admin::{Actor, AdminRequest, Command};
use crate::service::{App, ServiceError};

/// Largest request line accepted (a request carries at most a user or client description).
const MAX_REQUEST: u64 = 1 << 20;

/// The reply to one request: the command's output as JSON, or why it failed.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Ok(serde_json::Value),
    Err(ServiceError),
}

/// The socket path for a data file: the data file's path with `.sock` appended.
pub fn socket_path(data: &Path) -> PathBuf {
    let mut s = data.as_os_str().to_owned();
    s.push(".sock");
    PathBuf::from(s)
}

/// Binds the socket beside `data` (replacing a stale one: the caller holds the data file, so no
/// other server can be using it) and serves requests until the task is aborted.
pub async fn serve(app: App, data: &Path) -> std::io::Result<tokio::task::JoinHandle<()>> {
    // The data file's owner; with PostgreSQL there is no file, and its folder's owner stands in.
    let owner = match std::fs::metadata(data) {
        Ok(m) => m.uid(),
        Err(_) => std::fs::metadata(
            data.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )?
        .uid(),
    };
    let path = socket_path(data);
    let mut staging = path.as_os_str().to_owned();
    staging.push(format!(".{}", std::process::id()));
    let staging = PathBuf::from(staging);
    let _ = std::fs::remove_file(&staging);
    let listener = UnixListener::bind(&staging)?;
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&staging, &path)?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let allowed = stream
                .peer_cred()
                .map(|c| c.uid() == owner || c.uid() == 0)
                .unwrap_or(false);
            if !allowed {
                tracing::warn!("refused an admin socket connection from another user");
                continue;
            }
            let app = app.clone();
            tokio::spawn(async move {
                if let Err(e) = handle(&app, stream).await {
                    tracing::warn!(error = %e, "admin socket connection failed");
                }
            });
        }
    }))
}

async fn handle(app: &App, stream: UnixStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read.take(MAX_REQUEST))
        .read_line(&mut line)
        .await?;
    let reply = match serde_json::from_str::<AdminRequest>(&line) {
        Ok(request) => {
            tracing::info!(command = request.describe(), "admin command through the socket");
            match request.execute_as(app, &Actor::cli()).await {
                Ok(r) => Reply::Ok(r),
                Err(e) => Reply::Err(e),
            }
        }
        Err(e) => Reply::Err(ServiceError::refused(
            "request",
            crate::service::Invalid::Request {
                detail: e.to_string(),
            },
        )),
    };
    let mut out = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    write.shutdown().await
}

/// Connects to a running server's socket; `None` when no server answers there.
pub async fn connect(path: &Path) -> Option<UnixStream> {
    UnixStream::connect(path).await.ok()
}

/// Sends one command over an open connection and waits for its answer.
pub async fn call<C: Command>(stream: UnixStream, command: C) -> Result<C::Output, ServiceError> {
    let io = |e: std::io::Error| ServiceError::Internal(format!("admin socket: {e}"));
    let unreadable =
        |e: serde_json::Error| ServiceError::Internal(format!("admin socket sent an unreadable reply: {e}"));
    let (read, mut write) = stream.into_split();
    let request: AdminRequest = command.into();
    let mut line = serde_json::to_vec(&request).map_err(|e| ServiceError::Internal(e.to_string()))?;
    line.push(b'\n');
    write.write_all(&line).await.map_err(io)?;
    let mut reply = String::new();
    BufReader::new(read).read_line(&mut reply).await.map_err(io)?;
    match serde_json::from_str::<Reply>(&reply) {
        Ok(Reply::Ok(output)) => serde_json::from_value(output).map_err(unreadable),
        Ok(Reply::Err(e)) => Err(e),
        Err(e) => Err(unreadable(e)),
    }
}
