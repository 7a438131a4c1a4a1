//! TLS for the harness's own rows: the run's certificate, which nginx and stage 06 are both
//! given, and the client side of the TLS loads the harness drives itself (the handshake loads
//! and the idle TLS connections; wrk drives the request loads over https on its own).
//!
//! The certificate is made once per run, into the run's scratch directory: an ECDSA P-256 key
//! and a self-signed certificate for `localhost` and `127.0.0.1`, as PEM files
//! ([`Certificate::make`]). Both servers read the same two files, so they sign with the same key
//! and send the same certificate.
//!
//! The client is rustls with the aws-lc-rs provider, named explicitly. It pins the run's
//! certificate: the server's certificate must be that certificate, byte for byte, and the
//! handshake's signature must verify with its key ([`stagekit::tls::PinnedCertificate`], which
//! stage 06's exercises and the TLS suite verify with too). That is as strict as
//! trusting it as a root, and it spares the client a second signature check per handshake (the
//! certificate's own, which a chain check would verify): the client shares a two-core machine
//! with the server, and what it does not spend, the server can have.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::Resumption;
use rustls::crypto::{aws_lc_rs, CryptoProvider, SupportedKxGroup};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use stagekit::tls::PinnedCertificate;

use crate::scenario::{Group, TlsVersion};

/// The name the client asks for (SNI) and checks the certificate against; the certificate also
/// names `127.0.0.1`, the address wrk connects to.
pub const SERVER_NAME: &str = "localhost";

/// The harness's TLS client, for the report's list of tools.
pub const CLIENT: &str = "the harness's TLS client: rustls 0.23.46, aws-lc-rs";

/// The protocol the client offers with ALPN, the only one the servers speak here.
pub const ALPN: &[u8] = b"http/1.1";

/// The run's certificate and key, as files the servers read, and the certificate's bytes, which
/// the client pins.
#[derive(Clone, Debug)]
pub struct Certificate {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub der: Vec<u8>,
}

impl Certificate {
    /// Makes an ECDSA P-256 key and a self-signed certificate for `localhost` and `127.0.0.1`,
    /// and writes them into `dir` as `cert.pem` and `key.pem` (PKCS#8).
    pub fn make(dir: &Path) -> Result<Certificate, String> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|error| format!("cannot make a P-256 key: {error}"))?;
        // rcgen reads a name that parses as an IP address as an IP address name.
        let params = rcgen::CertificateParams::new(vec![SERVER_NAME.into(), "127.0.0.1".into()])
            .map_err(|error| format!("bad certificate names: {error}"))?;
        let cert = params
            .self_signed(&key)
            .map_err(|error| format!("cannot sign the certificate: {error}"))?;
        std::fs::create_dir_all(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
        let certificate = Certificate {
            cert_file: dir.join("cert.pem"),
            key_file: dir.join("key.pem"),
            der: cert.der().to_vec(),
        };
        for (path, text) in [
            (&certificate.cert_file, cert.pem()),
            (&certificate.key_file, key.serialize_pem()),
        ] {
            std::fs::write(path, text).map_err(|error| format!("{}: {error}", path.display()))?;
        }
        Ok(certificate)
    }
}

/// What a client configuration asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSettings {
    /// The one version offered, or `None` for both 1.2 and 1.3 (1.3 preferred).
    pub version: Option<TlsVersion>,
    /// The key-exchange groups offered, in order.
    pub groups: Vec<Group>,
    /// Keep sessions to resume (one store shared by every connection of the configuration),
    /// or resume nothing.
    pub resume: bool,
}

impl ClientSettings {
    /// What a browser-like client offers: both versions, X25519 then P-256, no resumption
    /// (every connection is a new visitor).
    pub fn any_version() -> ClientSettings {
        ClientSettings {
            version: None,
            groups: vec![Group::X25519, Group::Secp256r1],
            resume: false,
        }
    }
}

/// A rustls client configuration for the run's certificate, with the aws-lc-rs provider.
pub fn client_config(
    certificate: &Certificate,
    settings: &ClientSettings,
) -> Result<Arc<ClientConfig>, String> {
    let base = aws_lc_rs::default_provider();
    let kx_groups = settings
        .groups
        .iter()
        .map(|group| kx_group(*group))
        .collect::<Vec<_>>();
    let provider = Arc::new(CryptoProvider { kx_groups, ..base });
    let versions: &[&'static rustls::SupportedProtocolVersion] = match settings.version {
        Some(TlsVersion::Tls12) => &[&rustls::version::TLS12],
        Some(TlsVersion::Tls13) => &[&rustls::version::TLS13],
        None => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    // The verifier checks signatures with aws-lc-rs's algorithms, which `provider` keeps as
    // they are (only its key-exchange groups are chosen here).
    let verifier = Arc::new(PinnedCertificate::exactly(certificate.der.clone()));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|error| format!("bad TLS client settings: {error}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN.to_vec()];
    config.resumption = if settings.resume {
        // Room for both of the certificate's names; TLS 1.3 tickets are kept eight per name.
        Resumption::in_memory_sessions(16)
    } else {
        Resumption::disabled()
    };
    Ok(Arc::new(config))
}

fn kx_group(group: Group) -> &'static dyn SupportedKxGroup {
    match group {
        Group::X25519 => aws_lc_rs::kx_group::X25519,
        Group::Secp256r1 => aws_lc_rs::kx_group::SECP256R1,
        Group::X25519MlKem768 => aws_lc_rs::kx_group::X25519MLKEM768,
    }
}

/// A client connection, plain or TLS: what the idle-connection client holds.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

/// The client side of TLS for one run: a configuration, and the name it asks for.
#[derive(Clone)]
pub struct Client {
    pub config: Arc<ClientConfig>,
    pub name: ServerName<'static>,
}

impl Client {
    pub fn new(config: Arc<ClientConfig>) -> Client {
        Client {
            config,
            // A constant that is a valid DNS name.
            name: ServerName::try_from(SERVER_NAME).expect("localhost is a DNS name"),
        }
    }
}

impl Conn {
    /// Connects to `addr` within `timeout`, and with `tls`, completes the handshake within
    /// `timeout` too.
    pub fn connect(addr: SocketAddr, tls: Option<&Client>, timeout: Duration) -> io::Result<Conn> {
        let tcp = TcpStream::connect_timeout(&addr, timeout)?;
        let Some(client) = tls else {
            return Ok(Conn::Plain(tcp));
        };
        tcp.set_read_timeout(Some(timeout))?;
        tcp.set_write_timeout(Some(timeout))?;
        let connection =
            ClientConnection::new(client.config.clone(), client.name.clone()).map_err(tls_error)?;
        let mut stream = StreamOwned::new(connection, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(Conn::Tls(Box::new(stream)))
    }

    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(tcp) => tcp,
            Conn::Tls(stream) => &stream.sock,
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.read(buf),
            Conn::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.write(buf),
            Conn::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(tcp) => tcp.flush(),
            Conn::Tls(stream) => stream.flush(),
        }
    }
}

/// A rustls error as an I/O error, for the callers that speak io::Result.
pub fn tls_error(error: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

#[cfg(test)]
pub(crate) mod tests {
    //! A tiny in-process rustls server for the client's tests: it answers every request on a
    //! connection with a fixed response, and closes after one when asked to (`Connection: close`).

    use super::*;
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use rustls::{ServerConfig, ServerConnection};

    /// A server on 127.0.0.1:0 with `certificate`, until dropped.
    pub(crate) struct TinyServer {
        pub addr: SocketAddr,
        stop: Arc<AtomicBool>,
        thread: Option<thread::JoinHandle<()>>,
    }

    impl TinyServer {
        /// `tickets`: whether it issues session tickets (it always keeps a session cache).
        pub(crate) fn start(certificate: &Certificate, tickets: bool) -> TinyServer {
            let provider = Arc::new(aws_lc_rs::default_provider());
            let key = PrivateKeyDer::from_pem_file(&certificate.key_file).expect("key.pem");
            let mut config = ServerConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(vec![CertificateDer::from(certificate.der.clone())], key)
                .expect("certificate and key match");
            if tickets {
                config.ticketer = aws_lc_rs::Ticketer::new().expect("ticketer");
            }
            config.alpn_protocols = vec![ALPN.to_vec()];
            let config = Arc::new(config);
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
            let addr = listener.local_addr().expect("bound");
            listener.set_nonblocking(true).expect("nonblocking");
            let stop = Arc::new(AtomicBool::new(false));
            let stopping = stop.clone();
            let thread = thread::spawn(move || {
                let mut served = Vec::new();
                while !stopping.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((tcp, _)) => {
                            let config = config.clone();
                            served.push(thread::spawn(move || serve(config, tcp)));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(2)),
                    }
                    served.retain(|handle: &thread::JoinHandle<()>| !handle.is_finished());
                }
                for handle in served {
                    let _ = handle.join();
                }
            });
            TinyServer {
                addr,
                stop,
                thread: Some(thread),
            }
        }
    }

    impl Drop for TinyServer {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    fn serve(config: Arc<ServerConfig>, tcp: TcpStream) {
        // A test client that goes away ends the connection; none waits longer than this.
        let _ = tcp.set_nonblocking(false);
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
        let Ok(connection) = ServerConnection::new(config) else {
            return;
        };
        let mut stream = StreamOwned::new(connection, tcp);
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
            while let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = received.drain(..end + 4).collect();
                let close = String::from_utf8_lossy(&head)
                    .to_ascii_lowercase()
                    .contains("connection: close");
                if stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .is_err()
                {
                    return;
                }
                if close {
                    stream.conn.send_close_notify();
                    let _ = stream.flush();
                    return;
                }
            }
        }
    }

    pub(crate) fn certificate(name: &str) -> (stagekit::scratch::TempDir, Certificate) {
        let scratch = stagekit::scratch::TempDir::new(name);
        let certificate = Certificate::make(scratch.path()).expect("certificate");
        (scratch, certificate)
    }

    #[test]
    fn the_certificate_is_p256_for_both_names_and_pem_on_disk() {
        let (_scratch, certificate) = certificate("tls-cert");
        let cert = std::fs::read_to_string(&certificate.cert_file).expect("cert.pem");
        let key = std::fs::read_to_string(&certificate.key_file).expect("key.pem");
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
        // The SubjectPublicKeyInfo's curve: prime256v1 (1.2.840.10045.3.1.7).
        let p256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        assert!(certificate.der.windows(p256.len()).any(|w| w == p256));
        // Both names, in the subject alternative names: the DNS name and 127.0.0.1's four bytes.
        assert!(certificate.der.windows(9).any(|w| w == b"localhost"));
        assert!(certificate
            .der
            .windows(6)
            .any(|w| w == [0x87, 0x04, 127, 0, 0, 1]));
    }

    #[test]
    fn the_client_pins_the_runs_certificate() {
        let (_scratch, certificate) = certificate("tls-pin");
        let server = TinyServer::start(&certificate, true);
        for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
            let settings = ClientSettings {
                version: Some(version),
                ..ClientSettings::any_version()
            };
            let client = Client::new(client_config(&certificate, &settings).expect("config"));
            let conn = Conn::connect(server.addr, Some(&client), Duration::from_secs(5))
                .expect("handshake");
            let Conn::Tls(stream) = conn else {
                panic!("a TLS connection was asked for");
            };
            let expected = match version {
                TlsVersion::Tls12 => rustls::ProtocolVersion::TLSv1_2,
                TlsVersion::Tls13 => rustls::ProtocolVersion::TLSv1_3,
            };
            assert_eq!(stream.conn.protocol_version(), Some(expected));
            assert_eq!(stream.conn.alpn_protocol(), Some(ALPN));
        }
        // Another certificate (another key) is refused.
        let (_other_scratch, other) = self::certificate("tls-pin-other");
        let client =
            Client::new(client_config(&other, &ClientSettings::any_version()).expect("config"));
        let refused = Conn::connect(server.addr, Some(&client), Duration::from_secs(5));
        assert!(refused.is_err());
    }
}
