//! `HttpServer` on a real socket (127.0.0.1, millisecond settings): keep-alive limits, the
//! header-read timeout on idle connections, the connection cap, and a shutdown that closes
//! idle connections at once, gives requests in handlers the grace period and no more, and is
//! cut short by `hurry`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use sqs_dlq::http::{HttpServer, HttpServerBuilder, ServeSummary, ServerShutdown};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

fn app() -> Router {
    Router::new().route("/", get(|| async { "ok" })).route(
        "/slow",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    )
}

async fn start(
    builder: HttpServerBuilder,
) -> (
    SocketAddr,
    ServerShutdown,
    JoinHandle<std::io::Result<ServeSummary>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = ServerShutdown::new();
    let task = tokio::spawn(builder.serve(listener, app(), shutdown.clone()));
    (addr, shutdown, task)
}

/// Reads one answer's head (up to the blank line), or `None` when the connection ends first.
async fn head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte)).await {
            Ok(Ok(1)) => buf.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&buf).to_lowercase())
}

/// Reads the `ok` body of a GET answer.
async fn body_ok(stream: &mut TcpStream) {
    let mut body = [0u8; 2];
    stream.read_exact(&mut body).await.unwrap();
    assert_eq!(&body, b"ok");
}

async fn closed(stream: &mut TcpStream, within: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(within, stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

#[tokio::test]
async fn a_connection_carries_at_most_the_request_limit() {
    let (addr, shutdown, task) = start(HttpServer::builder().max_requests_per_connection(2)).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(GET).await.unwrap();
    let first = head(&mut s).await.unwrap();
    assert!(first.starts_with("http/1.1 200") && !first.contains("connection: close"));
    body_ok(&mut s).await;
    s.write_all(GET).await.unwrap();
    let second = head(&mut s).await.unwrap();
    assert!(second.contains("connection: close"), "{second}");
    body_ok(&mut s).await;
    assert!(closed(&mut s, Duration::from_secs(2)).await);
    shutdown.begin();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_at_the_header_timeout() {
    let (addr, shutdown, task) =
        start(HttpServer::builder().header_read_timeout(Duration::from_millis(200))).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(GET).await.unwrap();
    assert!(head(&mut s).await.unwrap().starts_with("http/1.1 200"));
    body_ok(&mut s).await;
    let idle = Instant::now();
    assert!(closed(&mut s, Duration::from_secs(3)).await);
    assert!(
        idle.elapsed() < Duration::from_secs(2),
        "{:?}",
        idle.elapsed()
    );
    shutdown.begin();
    let summary = task.await.unwrap().unwrap();
    assert_eq!(summary.header_timeouts, 1, "{summary:?}");
}

#[tokio::test]
async fn past_the_cap_a_connection_gets_503_and_service_returns() {
    let (addr, shutdown, task) = start(HttpServer::builder().max_connections(2)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(GET).await.unwrap();
        assert!(head(&mut s).await.unwrap().starts_with("http/1.1 200"));
        body_ok(&mut s).await;
        held.push(s);
    }
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(GET).await.unwrap();
    let refused = head(&mut third).await.unwrap();
    assert!(refused.starts_with("http/1.1 503"), "{refused}");
    assert!(refused.contains("retry-after: 1") && refused.contains("connection: close"));
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = TcpStream::connect(addr).await.unwrap();
    again.write_all(GET).await.unwrap();
    assert!(head(&mut again).await.unwrap().starts_with("http/1.1 200"));
    shutdown.begin();
    let summary = task.await.unwrap().unwrap();
    assert_eq!(summary.refused_connections, 1, "{summary:?}");
    assert_eq!(summary.peak_connections, 2, "{summary:?}");
}

/// Idle, half-open and silent connections close at once; a request in a handler gets the
/// grace period and is then dropped unanswered.
async fn shutdown_with(hurry_after: Option<Duration>) -> (ServeSummary, Duration) {
    let grace = Duration::from_millis(800);
    let (addr, shutdown, task) = start(
        HttpServer::builder()
            .header_read_timeout(Duration::from_secs(60))
            .shutdown_grace(grace),
    )
    .await;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(GET).await.unwrap();
    head(&mut idle).await.unwrap();
    body_ok(&mut idle).await;
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut busy = TcpStream::connect(addr).await.unwrap();
    busy.write_all(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let began = Instant::now();
    shutdown.begin();
    for s in [&mut idle, &mut half, &mut silent] {
        assert!(closed(s, Duration::from_millis(500)).await);
    }
    assert!(began.elapsed() < Duration::from_millis(500));
    if let Some(after) = hurry_after {
        tokio::time::sleep(after).await;
        shutdown.hurry();
    }
    assert!(
        head(&mut busy).await.is_none(),
        "the slow request was not answered"
    );
    let summary = task.await.unwrap().unwrap();
    (summary, began.elapsed())
}

#[tokio::test]
async fn shutdown_closes_idle_connections_at_once_and_bounds_the_rest_by_the_grace() {
    let (summary, took) = shutdown_with(None).await;
    assert!(took >= Duration::from_millis(700), "{took:?}");
    assert!(took < Duration::from_millis(2000), "{took:?}");
    assert_eq!(summary.closed_idle_at_shutdown, 3, "{summary:?}");
    assert_eq!(summary.cut_at_grace_end, 1, "{summary:?}");
}

#[tokio::test]
async fn hurry_ends_the_grace_period() {
    let (summary, took) = shutdown_with(Some(Duration::from_millis(50))).await;
    assert!(took < Duration::from_millis(600), "{took:?}");
    assert_eq!(summary.cut_at_grace_end, 1, "{summary:?}");
}
