use super::*;
use std::net::TcpListener;

/// A one-shot server that writes `reply` to the first client and then closes, or not.
fn serve_once(reply: &'static [u8], then_close: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener
        .local_addr()
        .expect("bound listener has an address");
    thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.write_all(reply);
            if !then_close {
                thread::sleep(Duration::from_secs(2));
            }
        }
    });
    addr
}

fn connect(addr: SocketAddr) -> Conn {
    let mut conn = Conn::connect(addr).expect("connect to the local test listener");
    conn.set_timeout(Duration::from_millis(500));
    conn
}

#[test]
fn reads_pipelined_responses_of_every_framing() {
    let addr = serve_once(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
          HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
          3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 1\r\n\r\n\
          HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n\
          HTTP/1.0 200 OK\r\n\r\nuntil close",
        true,
    );
    let mut conn = connect(addr);
    let first = conn.read_response().expect("first");
    assert_eq!((first.status, first.body.as_slice()), (200, &b"hello"[..]));
    let second = conn.read_response().expect("second");
    assert_eq!(second.body, b"abcde");
    assert_eq!(second.trailers, vec![("X-Sum".to_owned(), "1".to_owned())]);
    let third = conn.read_response().expect("third");
    assert_eq!((third.status, third.body.len()), (304, 0));
    let fourth = conn.read_response().expect("fourth");
    assert_eq!(
        (fourth.minor_version, fourth.text().as_str()),
        (0, "until close")
    );
    assert!(conn.expect_closed().is_ok());
}

#[test]
fn head_responses_have_no_body() {
    let addr = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", true);
    let response = connect(addr).read_response_to_head().expect("head");
    assert_eq!(response.content_length(), Some(50));
    assert!(response.body.is_empty());
}

#[test]
fn refuses_ambiguous_framing() {
    let addr = serve_once(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        true,
    );
    assert!(matches!(
        connect(addr).read_response(),
        Err(WireError::Malformed { .. })
    ));
}

#[test]
fn times_out_with_what_it_received() {
    let addr = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false);
    match connect(addr).read_response() {
        Err(WireError::Timeout { received, .. }) => assert!(received.ends_with(b"abc")),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn expect_closed_reports_extra_bytes() {
    let addr = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nextra", true);
    let mut conn = connect(addr);
    conn.read_response().expect("response");
    match conn.expect_closed() {
        Err(WireError::Unexpected { received }) => assert_eq!(received, b"extra"),
        other => panic!("expected unexpected bytes, got {other:?}"),
    }
}

#[test]
fn expect_closed_times_out_on_an_open_connection() {
    let addr = serve_once(b"", false);
    assert!(matches!(
        connect(addr).expect_closed(),
        Err(WireError::StillOpen { .. })
    ));
}

#[test]
fn chunked_decoder_refuses_bad_sizes_and_waits_for_more() {
    assert!(decode_chunked(b"zz\r\n").is_err());
    assert!(decode_chunked(b"3\r\nabcX\r\n").is_err());
    assert!(matches!(decode_chunked(b"3\r\nab"), Ok(None)));
    assert!(matches!(decode_chunked(b"0\r\n"), Ok(None)));
}

/// The TLS side of [`Conn`], against a small rustls server of the test's own: each test below
/// runs the server's half on a thread, with a certificate made for it.
mod tls {
    use super::*;
    use crate::scratch::TempDir;
    use crate::tls::TlsClient;
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use rustls::{ServerConfig, ServerConnection, StreamOwned};
    use std::io::Read;
    use std::sync::Arc;

    type ServerStream = StreamOwned<ServerConnection, std::net::TcpStream>;

    /// A certificate for `localhost`, written as PEM where a [`TlsClient`] can trust it.
    struct Identity {
        dir: TempDir,
        config: Arc<ServerConfig>,
    }

    impl Identity {
        fn new() -> Identity {
            let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
                .expect("rcgen makes a certificate for localhost");
            let dir = TempDir::new("wire-tls");
            std::fs::write(dir.join("cert.pem"), made.cert.pem()).expect("writing cert.pem");
            let key =
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
            let mut config = ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("TLS 1.2 and 1.3 are available")
            .with_no_client_auth()
            .with_single_cert(vec![made.cert.der().clone()], key)
            .expect("the key matches the certificate");
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Identity {
                dir,
                config: Arc::new(config),
            }
        }

        fn client(&self) -> TlsClient {
            TlsClient::trusting(&self.dir.join("cert.pem")).expect("trusting the test cert")
        }
    }

    /// Accepts one client on a thread and runs `serve` on the TLS stream once the handshake is
    /// done; the thread's result is the test's to join.
    fn serve_tls<T: Send + 'static>(
        config: Arc<ServerConfig>,
        serve: impl FnOnce(&mut ServerStream) -> T + Send + 'static,
    ) -> (SocketAddr, thread::JoinHandle<T>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("bound listener has an address");
        let server = thread::spawn(move || {
            let (socket, _) = listener.accept().expect("the test's client connects");
            socket
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("setting a read timeout");
            let session = ServerConnection::new(config).expect("a server session");
            let mut stream = StreamOwned::new(session, socket);
            while stream.conn.is_handshaking() {
                stream
                    .conn
                    .complete_io(&mut stream.sock)
                    .expect("the server's half of the handshake");
            }
            serve(&mut stream)
        });
        (addr, server)
    }

    /// Writes `reply`, then `close_notify` if `clean`, and closes.
    fn reply_and_close(stream: &mut ServerStream, reply: &[u8], clean: bool) {
        stream.write_all(reply).expect("writing the reply");
        if clean {
            stream.conn.send_close_notify();
        }
        stream.flush().expect("flushing the reply");
        let _ = stream.sock.shutdown(std::net::Shutdown::Write);
        // Keeps the socket until the client has read everything and closed its side (a close
        // with the client's bytes unread would be a reset).
        let mut rest = Vec::new();
        let _ = stream.sock.read_to_end(&mut rest);
    }

    fn connect_tls(addr: SocketAddr, client: &TlsClient) -> Conn {
        let mut conn = Conn::connect_tls(addr, client).expect("TLS connection to the test server");
        conn.set_timeout(Duration::from_secs(2));
        conn
    }

    #[test]
    fn reads_pipelined_responses_and_a_clean_close_over_tls() {
        let identity = Identity::new();
        let (addr, server) = serve_tls(Arc::clone(&identity.config), |stream| {
            let mut request = [0u8; 18];
            stream
                .read_exact(&mut request)
                .expect("reading the request");
            assert_eq!(&request, b"GET / HTTP/1.1\r\n\r\n");
            reply_and_close(
                stream,
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
                  HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                true,
            );
            stream.conn.alpn_protocol().map(<[u8]>::to_vec)
        });
        let mut conn = connect_tls(addr, &identity.client());
        assert!(conn.is_tls());
        conn.send(b"GET / HTTP/1.1\r\n\r\n").expect("sending");
        assert_eq!(conn.read_response().expect("first").body, b"hello");
        assert_eq!(conn.read_response().expect("second").body, b"abc");
        assert!(!conn.close_notify_received());
        conn.expect_closed().expect("the server closed the session");
        assert!(conn.close_notify_received());
        // The server thread waits for our close.
        drop(conn);
        let alpn = server.join().expect("the server thread");
        assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    }

    #[test]
    fn a_close_without_close_notify_is_a_close_that_says_so() {
        let identity = Identity::new();
        let (addr, server) = serve_tls(Arc::clone(&identity.config), |stream| {
            reply_and_close(stream, b"HTTP/1.0 200 OK\r\n\r\nuntil close", false);
        });
        let mut conn = connect_tls(addr, &identity.client());
        let response = conn.read_response().expect("a body delimited by the close");
        assert_eq!(response.text(), "until close");
        assert!(!conn.close_notify_received());
        drop(conn);
        server.join().expect("the server thread");
    }

    #[test]
    fn timeouts_and_silence_work_as_over_tcp() {
        let identity = Identity::new();
        let (addr, server) = serve_tls(Arc::clone(&identity.config), |stream| {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
                .expect("writing part of a response");
            stream.flush().expect("flushing");
            thread::sleep(Duration::from_millis(1500));
        });
        let mut conn = connect_tls(addr, &identity.client());
        conn.set_timeout(Duration::from_millis(300));
        match conn.read_response() {
            Err(WireError::Timeout { received, .. }) => assert!(received.ends_with(b"abc")),
            other => panic!("expected a timeout, got {other:?}"),
        }
        server.join().expect("the server thread");
    }

    /// A writer on another thread sends a large body while this thread reads the echo, which
    /// the server sends back as it reads, so neither side can wait for the other to finish.
    #[test]
    fn a_writer_thread_and_the_reader_share_one_session() {
        const SIZE: usize = 3 * 1024 * 1024 + 5;
        let identity = Identity::new();
        let (addr, server) = serve_tls(Arc::clone(&identity.config), |stream| {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\n\r\n");
            stream.write_all(head.as_bytes()).expect("writing the head");
            let mut left = SIZE;
            let mut chunk = vec![0u8; 50_000];
            while left > 0 {
                let n = stream.read(&mut chunk).expect("reading the upload");
                assert!(n > 0, "the upload ended {left} bytes early");
                stream.write_all(&chunk[..n]).expect("echoing");
                left -= n;
            }
            stream.flush().expect("flushing the echo");
        });
        let mut conn = connect_tls(addr, &identity.client());
        conn.set_timeout(Duration::from_secs(20));
        let body: Vec<u8> = (0..SIZE).map(|at| (at % 251) as u8).collect();
        let mut writer = conn.writer();
        let sent = body.clone();
        let sender = thread::spawn(move || writer.write_all(&sent));
        let response = conn.read_response().expect("reading the echo");
        sender
            .join()
            .expect("the writer thread")
            .expect("writing the upload");
        assert!(response.body == body, "the echo differs from the upload");
        server.join().expect("the server thread");
    }

    /// Writes that time out keep the rest of their record and send it first next time: once
    /// the server reads again, every byte arrives, in order.
    #[test]
    fn a_write_that_times_out_loses_nothing() {
        let identity = Identity::new();
        let (addr, server) = serve_tls(Arc::clone(&identity.config), |stream| {
            // Not reading for a while fills the buffers on the way.
            thread::sleep(Duration::from_millis(1500));
            let mut received = Vec::new();
            stream
                .read_to_end(&mut received)
                .expect("reading until close_notify");
            received
        });
        let conn = connect_tls(addr, &identity.client());
        let mut writer = conn.writer();
        writer
            .set_write_timeout(Some(Duration::from_millis(100)))
            .expect("setting a write timeout");
        let piece: Vec<u8> = (0..10_000u32).flat_map(|at| at.to_le_bytes()).collect();
        let mut sent = Vec::new();
        let mut timed_out = false;
        while sent.len() < 64 << 20 {
            match writer.write(&piece) {
                Ok(n) => sent.extend_from_slice(&piece[..n]),
                Err(error) if transport_timeout(&error) => {
                    timed_out = true;
                    break;
                }
                Err(error) => panic!("writing: {error}"),
            }
        }
        assert!(timed_out, "the buffers never filled ({} bytes)", sent.len());
        writer
            .set_write_timeout(None)
            .expect("clearing the write timeout");
        writer.write_all(b"the end").expect("writing the rest");
        sent.extend_from_slice(b"the end");
        conn.shutdown_write().expect("close_notify and FIN");
        let received = server.join().expect("the server thread");
        assert_eq!(received.len(), sent.len());
        assert!(received == sent, "the bytes arrived changed");
    }

    fn transport_timeout(error: &io::Error) -> bool {
        matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )
    }

    #[test]
    fn shutdown_write_sends_close_notify_and_still_reads() {
        let identity = Identity::new();
        let (addr, server) = serve_tls(Arc::clone(&identity.config), |stream| {
            let mut received = Vec::new();
            // Ok at close_notify; an error would be a FIN without it.
            stream
                .read_to_end(&mut received)
                .expect("the client's close_notify");
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}",
                received.len(),
                String::from_utf8_lossy(&received)
            );
            reply_and_close(stream, reply.as_bytes(), true);
        });
        let mut conn = connect_tls(addr, &identity.client());
        conn.send_in_pieces(b"one byte at a time", 1, Duration::ZERO)
            .expect("sending");
        conn.shutdown_write().expect("ending the sending half");
        let response = conn.read_response().expect("the reply after our close");
        assert_eq!(response.text(), "one byte at a time");
        conn.expect_closed().expect("then the server closes");
        server.join().expect("the server thread");
    }

    #[test]
    fn a_certificate_for_another_name_is_refused_at_connect() {
        let identity = Identity::new();
        let (addr, server) = serve_tls(Arc::clone(&identity.config), |_| ());
        let elsewhere = ServerName::try_from("example.test").expect("a DNS name");
        let client = identity.client().with_server_name(elsewhere);
        // The server's half fails too (the client's alert); only the client's error matters.
        let error = match Conn::connect_tls(addr, &client) {
            Ok(_) => panic!("a certificate for localhost was accepted for example.test"),
            Err(error) => error.to_string(),
        };
        assert!(error.contains("TLS handshake"), "{error}");
        assert!(error.to_lowercase().contains("certificate"), "{error}");
        let _ = server.join();
    }

    #[test]
    fn an_untrusted_certificate_is_refused_at_connect() {
        let identity = Identity::new();
        let stranger = Identity::new();
        let (addr, server) = serve_tls(Arc::clone(&stranger.config), |_| ());
        assert!(Conn::connect_tls(addr, &identity.client()).is_err());
        let _ = server.join();
    }

    /// A fatal alert after the handshake reaches the reader as a TLS error, not as a close.
    #[test]
    fn an_alert_is_a_tls_error() {
        let identity = Identity::new();
        let (addr, server) = serve_tls(Arc::clone(&identity.config), |stream| {
            // A record of a type that does not exist: the client must refuse it.
            stream
                .sock
                .write_all(&[0x42, 0x03, 0x03, 0x00, 0x01, 0x00])
                .expect("writing a bogus record");
            thread::sleep(Duration::from_millis(500));
        });
        let mut conn = connect_tls(addr, &identity.client());
        match conn.read_response() {
            Err(WireError::Tls { .. }) => {}
            other => panic!("expected a TLS error, got {other:?}"),
        }
        server.join().expect("the server thread");
    }

    #[test]
    fn trusting_a_file_without_certificates_fails_with_its_name() {
        let dir = TempDir::new("wire-tls-empty");
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").expect("writing the file");
        let error = TlsClient::trusting(&path).expect_err("nothing to trust");
        assert!(error.to_string().contains("empty.pem"), "{error}");
        assert!(TlsClient::trusting(&dir.join("missing.pem")).is_err());
    }
}
