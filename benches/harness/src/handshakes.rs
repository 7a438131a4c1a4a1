//! The handshake load: new TLS connections, as many as the server completes, for a fixed time.
//! wrk can open a new connection per request, but it cannot say which handshakes it made (full
//! or resumed, which version, which key exchange), nor be told; this client is told, and checks.
//!
//! Each of [`Load::connections`] threads does, until the time is up:
//!
//! 1. TCP connect;
//! 2. the handshake, with the version and key-exchange groups the scenario forces;
//! 3. one small `GET` with `Connection: close`, and its whole answer read;
//! 4. `close_notify`, and the socket closed.
//!
//! and counts the connection by the kind of handshake rustls reports (`handshake_kind`): full,
//! full after a HelloRetryRequest, or resumed. A full load has resumption off in the client,
//! so every handshake is full. A resumed load shares one client configuration, whose session
//! store is filled first; every handshake should then resume, and those that did not are
//! counted, so a table can say so ([`sequential`] fills it, one connection after the other). In TLS 1.3 a ticket is used once, and a client keeps eight
//! per server name, so the load keeps at most eight connections in flight: each one takes a
//! ticket and brings the store two new ones (rustls's and OpenSSL's default), before its
//! thread takes the next.
//!
//! Everything is bounded: each connect, read and write waits at most [`Load::timeout`], each
//! thread stops starting connections at the deadline and after [`MAX_CONNECTIONS`], and a
//! failed connection is counted and followed by the next.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rustls::HandshakeKind;

use crate::tls::{Client, Conn};

/// How long one connect, read or write may wait, unless the load says otherwise.
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Connections one load makes at most, over all its threads (a bound far above what one core
/// completes in a measured run).
pub const MAX_CONNECTIONS: u64 = 20_000_000;

/// One handshake load.
#[derive(Clone)]
pub struct Load {
    pub addr: SocketAddr,
    /// The TLS client, or `None` for plain HTTP connections (the baseline a TLS row is set
    /// beside: the same connections, the same request, no handshake).
    pub client: Option<Client>,
    /// Threads, each with one connection at a time.
    pub connections: usize,
    pub duration: Duration,
    /// The path of the one request on each connection.
    pub path: String,
    /// How long one connect, read or write may wait ([`IO_TIMEOUT`], longer under callgrind).
    pub timeout: Duration,
}

/// What a load measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Connections that completed: handshake, request, whole answer.
    pub completed: u64,
    /// Of those, by handshake kind.
    pub full: u64,
    pub hello_retries: u64,
    pub resumed: u64,
    /// Connections that failed, and the first reason.
    pub failed: u64,
    pub first_error: Option<String>,
    /// From the start of the threads to the last one's end.
    pub seconds: f64,
    /// Connect to the answer's last byte, microseconds.
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    /// What was negotiated, with how many connections each: `TLS 1.3 X25519
    /// TLS13_AES_256_GCM_SHA384`.
    pub negotiated: BTreeMap<String, u64>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.completed as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// One connection's record.
struct Done {
    kind: Option<HandshakeKind>,
    negotiated: String,
    micros: u32,
}

/// Makes `count` connections one after the other: to fill a shared session store with tickets
/// (or a TLS 1.2 session) before a resumed load is measured, or to make an exact number of
/// handshakes (under callgrind). Returns what they negotiated, with how many each, or the first
/// failure.
pub fn sequential(load: &Load, count: u64) -> Result<BTreeMap<String, u64>, String> {
    let request = request(&load.path, load.addr);
    let mut negotiated = BTreeMap::new();
    for _ in 0..count {
        let done = one(load, &request)?;
        *negotiated.entry(done.negotiated).or_default() += 1;
    }
    Ok(negotiated)
}

/// Runs `load` for its duration.
pub fn run(load: &Load) -> Outcome {
    let started = Instant::now();
    let deadline = started + load.duration;
    let begun = Arc::new(AtomicU64::new(0));
    let request = Arc::new(request(&load.path, load.addr));
    let threads: Vec<_> = (0..load.connections.max(1))
        .map(|_| {
            let load = load.clone();
            let begun = begun.clone();
            let request = request.clone();
            thread::spawn(move || {
                let mut done = Vec::new();
                let mut failures: Vec<String> = Vec::new();
                while Instant::now() < deadline
                    && begun.fetch_add(1, Ordering::Relaxed) < MAX_CONNECTIONS
                {
                    match one(&load, &request) {
                        Ok(record) => done.push(record),
                        Err(error) => failures.push(error),
                    }
                }
                (done, failures)
            })
        })
        .collect();
    let mut outcome = Outcome::default();
    let mut latencies = Vec::new();
    for thread in threads {
        let Ok((done, failures)) = thread.join() else {
            outcome.failed += 1;
            outcome
                .first_error
                .get_or_insert_with(|| "a client thread panicked".into());
            continue;
        };
        outcome.failed += failures.len() as u64;
        if let Some(first) = failures.into_iter().next() {
            outcome.first_error.get_or_insert(first);
        }
        for record in done {
            outcome.completed += 1;
            match record.kind {
                Some(HandshakeKind::Resumed) => outcome.resumed += 1,
                Some(HandshakeKind::FullWithHelloRetryRequest) => outcome.hello_retries += 1,
                Some(_) => outcome.full += 1,
                // A plain connection has no handshake to count.
                None => {}
            }
            *outcome.negotiated.entry(record.negotiated).or_default() += 1;
            latencies.push(record.micros);
        }
    }
    outcome.seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let at = |fraction: f64| {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 * fraction).ceil() as usize).clamp(1, latencies.len());
        f64::from(latencies[index - 1])
    };
    outcome.p50_us = at(0.50);
    outcome.p99_us = at(0.99);
    outcome.p999_us = at(0.999);
    outcome.max_us = latencies.last().map_or(0.0, |max| f64::from(*max));
    outcome
}

fn request(path: &str, addr: SocketAddr) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").into_bytes()
}

/// One connection: connect, handshake, request, answer, close.
fn one(load: &Load, request: &[u8]) -> Result<Done, String> {
    let started = Instant::now();
    let mut conn = Conn::connect(load.addr, load.client.as_ref(), load.timeout)
        .map_err(|error| format!("connect or handshake failed: {error}"))?;
    let _ = conn.tcp().set_nodelay(true);
    conn.write_all(request)
        .map_err(|error| format!("the request could not be sent: {error}"))?;
    crate::idle::read_one_response(&mut conn, load.timeout)
        .map_err(|error| format!("the answer did not come: {error}"))?;
    let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
    let Conn::Tls(mut stream) = conn else {
        return Ok(Done {
            kind: None,
            negotiated: String::new(),
            micros,
        });
    };
    let kind = stream.conn.handshake_kind();
    let negotiated = negotiated(&stream.conn);
    // The server may have closed already (it was asked to): a failed close_notify is no error.
    stream.conn.send_close_notify();
    let _ = stream.conn.complete_io(&mut stream.sock);
    Ok(Done {
        kind,
        negotiated,
        micros,
    })
}

/// `TLS 1.3, X25519, TLS13_AES_256_GCM_SHA384`: what a connection negotiated.
pub fn negotiated(conn: &rustls::ClientConnection) -> String {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_owned(),
        other => format!("{other:?}"),
    };
    // A resumed TLS 1.2 handshake has no key exchange.
    let group = conn
        .negotiated_key_exchange_group()
        .map_or("no key exchange".to_owned(), |group| {
            format!("{:?}", group.name())
        });
    let suite = conn
        .negotiated_cipher_suite()
        .map_or("-".to_owned(), |suite| format!("{:?}", suite.suite()));
    format!("{version}, {group}, {suite}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Group, TlsVersion};
    use crate::tls::tests::{certificate, TinyServer};
    use crate::tls::{client_config, ClientSettings};
    use std::io::Read;

    fn load(addr: SocketAddr, client: Client) -> Load {
        Load {
            addr,
            client: Some(client),
            connections: 4,
            duration: Duration::from_millis(400),
            path: "/".into(),
            timeout: IO_TIMEOUT,
        }
    }

    fn client(
        certificate: &crate::tls::Certificate,
        version: TlsVersion,
        groups: &[Group],
        resume: bool,
    ) -> Client {
        let settings = ClientSettings {
            version: Some(version),
            groups: groups.to_vec(),
            resume,
        };
        Client::new(client_config(certificate, &settings).expect("client config"))
    }

    #[test]
    fn full_handshakes_are_counted_as_full_with_what_was_negotiated() {
        let (_scratch, certificate) = certificate("handshakes-full");
        let server = TinyServer::start(&certificate, true);
        let client = client(&certificate, TlsVersion::Tls13, &[Group::X25519], false);
        let outcome = run(&load(server.addr, client));
        assert!(outcome.completed > 0, "{outcome:?}");
        assert_eq!((outcome.failed, outcome.resumed), (0, 0), "{outcome:?}");
        assert_eq!(outcome.full + outcome.hello_retries, outcome.completed);
        assert_eq!(outcome.hello_retries, 0);
        let negotiated: Vec<&String> = outcome.negotiated.keys().collect();
        assert_eq!(negotiated.len(), 1, "{negotiated:?}");
        assert!(
            negotiated[0].starts_with("TLS 1.3, X25519, TLS13_"),
            "{negotiated:?}"
        );
        assert!(outcome.p50_us > 0.0 && outcome.p99_us >= outcome.p50_us);
        assert!(outcome.max_us >= outcome.p999_us);
        assert!(outcome.seconds >= 0.4 && outcome.per_second() > 0.0);
    }

    #[test]
    fn a_warmed_store_resumes_every_handshake_in_both_versions() {
        let (_scratch, certificate) = certificate("handshakes-resumed");
        let server = TinyServer::start(&certificate, true);
        for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
            let client = client(&certificate, version, &[Group::X25519], true);
            let load = load(server.addr, client);
            let warmed = sequential(&load, 8).expect("warmed");
            assert_eq!(warmed.values().sum::<u64>(), 8);
            let outcome = run(&load);
            assert!(outcome.completed > 0, "{version:?}: {outcome:?}");
            assert_eq!(outcome.failed, 0, "{version:?}: {outcome:?}");
            assert_eq!(
                outcome.resumed, outcome.completed,
                "{version:?}: {outcome:?}"
            );
        }
    }

    #[test]
    fn plain_connections_are_counted_without_a_handshake() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("bound");
        // Answers one request per connection, then closes, as asked (`Connection: close`).
        let server = thread::spawn(move || {
            let _ = listener.set_nonblocking(true);
            let until = Instant::now() + Duration::from_secs(2);
            while Instant::now() < until {
                match listener.accept() {
                    Ok((mut tcp, _)) => {
                        let _ = tcp.set_nonblocking(false);
                        let mut buffer = [0u8; 1024];
                        if tcp.read(&mut buffer).is_ok() {
                            let _ =
                                tcp.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                        }
                    }
                    Err(_) => thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        let (_scratch, certificate) = certificate("handshakes-plain");
        let mut plain = load(
            addr,
            client(&certificate, TlsVersion::Tls13, &[Group::X25519], false),
        );
        plain.client = None;
        plain.connections = 1;
        plain.duration = Duration::from_millis(200);
        let outcome = run(&plain);
        assert!(outcome.completed > 0, "{outcome:?}");
        assert_eq!((outcome.full, outcome.resumed, outcome.failed), (0, 0, 0));
        let _ = server.join();
    }

    #[test]
    fn a_server_that_is_not_there_is_counted_as_failures_in_time() {
        let (_scratch, certificate) = certificate("handshakes-nowhere");
        let client = client(&certificate, TlsVersion::Tls13, &[Group::X25519], false);
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = closed.local_addr().expect("bound");
        drop(closed);
        let mut nowhere = load(addr, client);
        nowhere.connections = 1;
        nowhere.duration = Duration::from_millis(100);
        let started = Instant::now();
        let outcome = run(&nowhere);
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(outcome.completed, 0);
        assert!(outcome.failed > 0);
        assert!(outcome
            .first_error
            .is_some_and(|error| error.contains("connect")));
    }
}
