//! The one way every emulator serves: axum on a listener (127.0.0.1 on a random port, or one the
//! caller bound), in a tokio task, until the handle is dropped or stopped.

use std::{
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

use axum::Router;
use futures::channel::oneshot;
use tokio::{net::TcpListener, task::JoinHandle};

/// Binds 127.0.0.1 on a free port.
pub async fn bind_local() -> io::Result<TcpListener> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await
}

/// The address a client on this machine reaches a listener bound to `address` at: the
/// loopback address in place of the unspecified one (`0.0.0.0`, `::`).
pub fn reachable(address: SocketAddr) -> SocketAddr {
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, address.port())
}

/// A running server: it stops when dropped (no new connections, in-flight requests finish) or,
/// waiting until it has, on [`Server::stop`].
pub struct Server {
    address: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl Server {
    /// Serves `router` on `listener` in a tokio task.
    pub fn start(listener: TcpListener, router: Router) -> io::Result<Server> {
        let address = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Server {
            address,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// The address it listens on, as bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://` and the address a client on this machine reaches it at (see [`reachable`]).
    pub fn origin(&self) -> String {
        format!("http://{}", reachable(self.address))
    }

    /// Stops serving and waits until the server has: idle connections are closed, in-flight
    /// requests finish.
    pub async fn stop(mut self) {
        self.signal_stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn signal_stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.signal_stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unspecified_address_is_reached_at_the_loopback_one() {
        let reached = |text: &str| reachable(text.parse().unwrap()).to_string();
        assert_eq!(reached("0.0.0.0:8090"), "127.0.0.1:8090");
        assert_eq!(reached("[::]:8090"), "[::1]:8090");
        assert_eq!(reached("192.0.2.7:8090"), "192.0.2.7:8090");
    }

    #[tokio::test]
    async fn stop_waits_until_nothing_listens() {
        let server = Server::start(bind_local().await.unwrap(), Router::new()).unwrap();
        let address = server.address();
        assert_eq!(server.origin(), format!("http://{address}"));
        tokio::net::TcpStream::connect(address).await.unwrap();
        server.stop().await;
        assert!(tokio::net::TcpStream::connect(address).await.is_err());
    }
}
