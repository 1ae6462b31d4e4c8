//! Accepting connections for a gRPC server.

use tokio::net::{TcpListener, TcpStream};
use tokio_stream::{Stream, StreamExt};

/// The connections accepted on `listener`, each with Nagle's algorithm off.
///
/// tonic's `Server::tcp_nodelay` applies only to listeners tonic binds itself, not to an
/// incoming stream handed to `serve_with_incoming`. Without it a reply written in several
/// segments (HTTP/2 headers, data, trailers) waits for the client's delayed ACK: measured as
/// 20–40 ms for a 1 ms call, the whole tail of the replication lag.
pub fn incoming(listener: TcpListener) -> impl Stream<Item = std::io::Result<TcpStream>> {
    tokio_stream::wrappers::TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_connections_have_nagle_off() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            let mut accepted = Box::pin(incoming(listener));
            let _client = TcpStream::connect(addr).await.expect("connect");
            let server_side = accepted
                .next()
                .await
                .expect("a connection")
                .expect("accepted");
            assert!(server_side.nodelay().expect("nodelay readable"));
        });
    }
}
