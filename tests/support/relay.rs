//! A TCP relay between clients and the runtime that can cut every connection, refuse new
//! ones, and follow the runtime to a new port after a restart (tests of resume and chaos).

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};

/// A TCP relay between the client and the runtime that can cut every connection, refuse new
/// ones, and follow the runtime to a new port after a restart.
pub struct Relay {
    /// The port clients connect to.
    pub port: u16,
    /// The runtime's port, changed after a restart.
    pub target: Arc<AtomicU16>,
    /// False: new connections are dropped at once.
    pub open: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Relay {
    /// Starts relaying to `target` (call inside a Tokio runtime).
    pub async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = Self {
            port: listener.local_addr().unwrap().port(),
            target: Arc::new(AtomicU16::new(target)),
            open: Arc::new(AtomicBool::new(true)),
            links: Arc::default(),
        };
        let (target, open, links) = (
            Arc::clone(&relay.target),
            Arc::clone(&relay.open),
            Arc::clone(&relay.links),
        );
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !open.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection fail
                }
                let port = target.load(Ordering::SeqCst);
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", port)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                links.lock().unwrap().push(link.abort_handle());
            }
        });
        relay
    }

    /// Drops every open connection, as a network failure would.
    pub fn cut(&self) {
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}
