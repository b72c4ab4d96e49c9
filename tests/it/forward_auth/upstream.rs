//! The protected app: a plain-HTTP server on loopback, on a thread of its own, that answers every
//! request with 200 and a JSON account of what reached it (method, target and every header in
//! order), and counts the requests, so a test sees exactly what a proxy let through.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use poem::listener::{Acceptor as _, Listener as _, TcpListener};
use poem::{Request, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The marker in every echo, so that no other 200 (a proxy's, Latchkey's) passes for one.
const MARK: &str = "latchkey-test-echo";

/// The running echo app; stopped when dropped.
pub struct Upstream {
    port: u16,
    requests: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Upstream {
    /// Starts the app on a free loopback port.
    pub fn start() -> Upstream {
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the echo app");
            runtime.block_on(async move {
                let acceptor = TcpListener::bind("127.0.0.1:0")
                    .into_acceptor()
                    .await
                    .expect("cannot bind the echo app");
                let port = acceptor.local_addr()[0]
                    .as_socket_addr()
                    .expect("a TCP address")
                    .port();
                port_tx.send(port).expect("the test waits for the port");
                let app = poem::endpoint::make(move |req: Request| {
                    let counted = counted.clone();
                    async move {
                        counted.fetch_add(1, Ordering::SeqCst);
                        echo(&req)
                    }
                });
                let _ = poem::Server::new_with_acceptor(acceptor)
                    .run_with_graceful_shutdown(app, async { drop(stopped.await) }, None)
                    .await;
            });
        });
        let port = port_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the echo app did not start");
        Upstream {
            port,
            requests,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The app's address for a proxy: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many requests reached the app so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn echo(req: &Request) -> Response {
    let headers: Vec<Value> = req
        .headers()
        .iter()
        .map(|(name, value)| json!([name.as_str(), String::from_utf8_lossy(value.as_bytes())]))
        .collect();
    let body = json!({
        "app": MARK,
        "method": req.method().as_str(),
        "uri": req.uri().to_string(),
        "headers": headers,
    });
    Response::builder()
        .content_type("application/json")
        .body(serde_json::to_string_pretty(&body).expect("JSON"))
}

/// What the app saw of one request.
#[derive(Debug, Clone)]
pub struct Echo {
    pub method: String,
    pub uri: String,
    /// Every header as it arrived, names in lower case, in order.
    pub headers: Vec<(String, String)>,
}

impl Echo {
    /// Reads an echo from an answer's body; `None` if the app did not write it.
    pub fn parse(body: &str) -> Option<Echo> {
        let value: Value = serde_json::from_str(body).ok()?;
        if value["app"] != MARK {
            return None;
        }
        let headers = value["headers"]
            .as_array()?
            .iter()
            .map(|pair| {
                (
                    pair[0].as_str().unwrap_or_default().to_owned(),
                    pair[1].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        Some(Echo {
            method: value["method"].as_str()?.to_owned(),
            uri: value["uri"].as_str()?.to_owned(),
            headers,
        })
    }

    /// Every value the header `name` arrived with.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one value of the header `name`, or "" when it did not arrive (a proxy drops an
    /// empty header); panics if it arrived more than once.
    #[track_caller]
    pub fn one(&self, name: &str) -> &str {
        let values = self.all(name);
        assert!(
            values.len() <= 1,
            "{name} reached the app {} times: {values:?}",
            values.len()
        );
        values.first().copied().unwrap_or("")
    }
}
