//! The TLS client settings of the kit: whom a [`Conn`](crate::Conn) trusts and which server
//! name it asks for, for the stages that speak HTTPS (stage 06 on).
//!
//! The suite trusts exactly one certificate: the self-signed one the server wrote at start
//! (`--self-signed-cert FILE`, see [`Server`](crate::Server)), never the system's roots, so a
//! test passes only against the server it started. The client is rustls, like the stage, with
//! its crypto provider named (aws-lc-rs, the stage's default): with two providers compiled into
//! the workspace, rustls cannot pick one by itself.
//!
//! Clients that must see which certificate a server sends, or that pin one certificate by its
//! bytes rather than trust it as a root, verify with [`PinnedCertificate`] instead (stage 06's
//! exercises, the TLS suite's own client, the benchmark harness's TLS client).

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{aws_lc_rs, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The name the suite asks for (SNI) and checks the certificate against: a stage's
/// self-signed certificate names `localhost`, `127.0.0.1` and `::1`.
pub const SERVER_NAME: &str = "localhost";

/// The application protocol the client offers (ALPN), as curl and browsers do for HTTP/1.1.
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// What a TLS [`Conn`](crate::Conn) needs besides an address: a rustls client configuration
/// (trust, versions, ALPN) and the server name to ask for. Cheap to clone, and `Send`, so that
/// client threads can each connect with it.
#[derive(Clone)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

impl TlsClient {
    /// Trusts only the certificates in the PEM file `ca_file` and asks for [`SERVER_NAME`];
    /// offers TLS 1.2 and 1.3 and ALPN `http/1.1`.
    ///
    /// A self-signed certificate is its own trust anchor, so the file the server wrote is all
    /// the client needs.
    pub fn trusting(ca_file: &Path) -> io::Result<TlsClient> {
        let shown = ca_file.display();
        let mut roots = RootCertStore::empty();
        let certificates = CertificateDer::pem_file_iter(ca_file)
            .map_err(|error| io::Error::other(format!("reading {shown}: {error}")))?;
        for certificate in certificates {
            let certificate = certificate
                .map_err(|error| io::Error::other(format!("a certificate in {shown}: {error}")))?;
            roots.add(certificate).map_err(|error| {
                io::Error::other(format!("trusting a certificate of {shown}: {error}"))
            })?;
        }
        if roots.is_empty() {
            return Err(io::Error::other(format!("{shown} holds no certificate")));
        }
        let mut config =
            ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
                // TLS 1.2 and 1.3: the versions the stage serves (the `tls12` feature is on).
                .with_safe_default_protocol_versions()
                .map_err(|error| io::Error::other(format!("the client's TLS versions: {error}")))?
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        // A constant that is a valid DNS name: the conversion cannot fail.
        let server_name = ServerName::try_from(SERVER_NAME).expect("localhost is a DNS name");
        Ok(TlsClient::new(Arc::new(config), server_name))
    }

    /// Any configuration and server name, for tests that need another one (a name for SNI,
    /// other ALPN protocols, a single TLS version).
    pub fn new(config: Arc<ClientConfig>, server_name: ServerName<'static>) -> TlsClient {
        TlsClient {
            config,
            server_name,
        }
    }

    /// The same trust and versions with another server name (SNI, and the name checked).
    pub fn with_server_name(&self, server_name: ServerName<'static>) -> TlsClient {
        TlsClient::new(Arc::clone(&self.config), server_name)
    }

    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    pub fn server_name(&self) -> &ServerName<'static> {
        &self.server_name
    }
}

impl fmt::Debug for TlsClient {
    /// The configuration's own `Debug` lists every setting; the name is what tells two apart.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClient")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// A rustls server-certificate verifier that takes the server's certificate by its bytes, never
/// by a chain to a trusted root, and still checks the handshake's signature (TLS 1.2's
/// ServerKeyExchange, TLS 1.3's CertificateVerify) with that certificate's key, so a server
/// that does not hold the matching key fails the handshake.
///
/// - [`PinnedCertificate::exactly`] accepts one certificate, byte for byte, and refuses any
///   other (as `UnknownIssuer`). That is as strict as trusting a self-signed certificate as the
///   only root, and cheaper: there is no signature over the certificate itself to verify, which
///   matters to a load client that shares the machine with the server it measures.
/// - [`PinnedCertificate::any`] accepts whichever certificate the server sends, for tests whose
///   subject is which one it chose (per SNI name, after a reload): they compare it with the one
///   they expect themselves.
///
/// Either way it keeps the last certificate it was shown, and the OCSP response stapled to it
/// ([`PinnedCertificate::seen`]): rustls gives a client no other way to read that response.
/// Names and validity dates are not checked: the pinned bytes stand for both.
///
/// Signatures are checked with aws-lc-rs's algorithms, the provider the kit names everywhere;
/// [`PinnedCertificate::client_config`] makes a configuration with it.
pub struct PinnedCertificate {
    /// The one certificate accepted (DER), or `None` for any.
    pinned: Option<Vec<u8>>,
    algorithms: WebPkiSupportedAlgorithms,
    seen: Mutex<Seen>,
}

/// What a server presented to a [`PinnedCertificate`] last, accepted or not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// The server's certificate (the first of its chain), DER; empty before any handshake.
    pub certificate: Vec<u8>,
    /// The OCSP response stapled to it; empty if none.
    pub ocsp: Vec<u8>,
}

impl PinnedCertificate {
    /// Accepts only `certificate` (DER), byte for byte.
    pub fn exactly(certificate: impl Into<Vec<u8>>) -> PinnedCertificate {
        PinnedCertificate::pinning(Some(certificate.into()))
    }

    /// Accepts any certificate, and keeps it for [`seen`](PinnedCertificate::seen).
    pub fn any() -> PinnedCertificate {
        PinnedCertificate::pinning(None)
    }

    fn pinning(pinned: Option<Vec<u8>>) -> PinnedCertificate {
        PinnedCertificate {
            pinned,
            algorithms: aws_lc_rs::default_provider().signature_verification_algorithms,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// The certificate and OCSP response of the last handshake this verifier took part in.
    /// With one verifier shared by many connections, that is whichever verified last.
    pub fn seen(&self) -> Seen {
        // A panic while the lock was held cannot leave a half-written `Seen` (each field is
        // replaced whole), so a poisoned lock still holds a value worth reading.
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// A client configuration that verifies with this: aws-lc-rs, TLS 1.2 and 1.3, ALPN
    /// `http/1.1`, no client certificate. Keep a clone of the `Arc` to read
    /// [`seen`](PinnedCertificate::seen) after a handshake.
    pub fn client_config(self: Arc<Self>) -> ClientConfig {
        let mut config =
            ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                // Cannot fail: rustls's own aws-lc-rs provider supports both versions.
                .expect("aws-lc-rs supports TLS 1.2 and 1.3")
                .dangerous()
                .with_custom_certificate_verifier(self)
                .with_no_client_auth();
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        config
    }
}

impl fmt::Debug for PinnedCertificate {
    /// Which certificate is pinned, by length; the algorithm list says nothing worth reading.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedCertificate")
            .field("pinned_bytes", &self.pinned.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        {
            let mut seen = self
                .seen
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            seen.certificate = end_entity.to_vec();
            seen.ocsp = ocsp_response.to_vec();
        }
        match &self.pinned {
            Some(pinned) if end_entity.as_ref() != pinned.as_slice() => Err(
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            ),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::server::{ClientHello, ResolvesServerCert};
    use rustls::sign::CertifiedKey;
    use rustls::version::{TLS12, TLS13};
    use rustls::{
        ClientConnection, Connection, ServerConfig, ServerConnection, SupportedProtocolVersion,
    };

    /// A self-signed certificate for `localhost` (DER) and its key (rcgen's default: ECDSA
    /// P-256).
    fn identity() -> (Vec<u8>, PrivateKeyDer<'static>) {
        let made = rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_owned()])
            .expect("rcgen makes a certificate for localhost");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
        (made.cert.der().to_vec(), key)
    }

    /// A server that speaks only `version` and sends `certificate`, signing with `key`, and
    /// staples `ocsp` when it is not empty.
    fn server(
        version: &'static SupportedProtocolVersion,
        certificate: &[u8],
        key: PrivateKeyDer<'static>,
        ocsp: &[u8],
    ) -> Arc<ServerConfig> {
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
                .with_protocol_versions(&[version])
                .expect("aws-lc-rs supports the version")
                .with_no_client_auth()
                .with_single_cert_with_ocsp(
                    vec![CertificateDer::from(certificate.to_vec())],
                    key,
                    ocsp.to_vec(),
                )
                .expect("the key matches the certificate");
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Arc::new(config)
    }

    /// A whole handshake in memory, each side's flight handed to the other until both are
    /// done: the client's error if it fails.
    fn handshake(client: ClientConfig, server: Arc<ServerConfig>) -> Result<(), rustls::Error> {
        let name = ServerName::try_from(SERVER_NAME).expect("localhost is a DNS name");
        let mut client = Connection::from(ClientConnection::new(Arc::new(client), name)?);
        let mut server = Connection::from(ServerConnection::new(server)?);
        // A full handshake takes two round trips; many more flights than that mean a stall.
        for _ in 0..8 {
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(());
            }
            send(&mut client, &mut server);
            // A server that refuses says so in an alert, which the client reads next.
            let _ = server.process_new_packets();
            send(&mut server, &mut client);
            client.process_new_packets()?;
        }
        panic!("the handshake did not finish in 8 flights");
    }

    /// Hands what `from` has to send to `to`.
    fn send(from: &mut Connection, to: &mut Connection) {
        let mut bytes = Vec::new();
        while from.wants_write() {
            from.write_tls(&mut bytes).expect("writing to a Vec");
        }
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            to.read_tls(&mut rest).expect("reading from a slice");
        }
    }

    #[test]
    fn exactly_accepts_the_pinned_certificate_and_refuses_another() {
        let (pinned, pinned_key) = identity();
        let (other, other_key) = identity();
        assert_ne!(pinned, other, "rcgen made two different certificates");
        let verifier = Arc::new(PinnedCertificate::exactly(pinned.clone()));
        for version in [&TLS13, &TLS12] {
            let config = server(version, &pinned, pinned_key.clone_key(), b"");
            let accepted = handshake(Arc::clone(&verifier).client_config(), config);
            assert_eq!(accepted, Ok(()), "{version:?}");
            assert_eq!(verifier.seen().certificate, pinned);

            let config = server(version, &other, other_key.clone_key(), b"");
            let refused = handshake(Arc::clone(&verifier).client_config(), config);
            assert_eq!(
                refused,
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::UnknownIssuer
                )),
                "{version:?}"
            );
            // The refused certificate is still kept, for a failure message to show.
            assert_eq!(verifier.seen().certificate, other);
        }
    }

    #[test]
    fn any_accepts_every_certificate_and_keeps_it_with_its_ocsp_response() {
        let verifier = Arc::new(PinnedCertificate::any());
        assert_eq!(verifier.seen(), Seen::default());
        // The server staples the bytes whatever they are; rustls's client asks for them.
        let stapled = b"a stand-in for a DER OCSP response";
        for ocsp in [&stapled[..], b""] {
            let (certificate, key) = identity();
            let config = server(&TLS13, &certificate, key, ocsp);
            let accepted = handshake(Arc::clone(&verifier).client_config(), config);
            assert_eq!(accepted, Ok(()));
            let seen = verifier.seen();
            assert_eq!(seen.certificate, certificate);
            assert_eq!(seen.ocsp, ocsp);
        }
    }

    /// Sends one certificate and signs with another certificate's key: what a server that has
    /// a copy of a certificate but not its key would do.
    #[derive(Debug)]
    struct WrongKey(Arc<CertifiedKey>);

    impl ResolvesServerCert for WrongKey {
        fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            Some(Arc::clone(&self.0))
        }
    }

    #[test]
    fn the_handshake_must_be_signed_with_the_pinned_certificates_key() {
        let (pinned, _) = identity();
        let (_, another_key) = identity();
        let provider = Arc::new(aws_lc_rs::default_provider());
        let signer = provider
            .key_provider
            .load_private_key(another_key)
            .expect("aws-lc-rs loads a P-256 key");
        let wrong = CertifiedKey::new(vec![CertificateDer::from(pinned.clone())], signer);
        for version in [&TLS13, &TLS12] {
            let config = ServerConfig::builder_with_provider(Arc::clone(&provider))
                .with_protocol_versions(&[version])
                .expect("aws-lc-rs supports the version")
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(WrongKey(Arc::new(wrong.clone()))));
            let verifier = Arc::new(PinnedCertificate::exactly(pinned.clone()));
            let refused = handshake(verifier.client_config(), Arc::new(config));
            assert!(
                matches!(
                    refused,
                    Err(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::BadSignature
                    ))
                ),
                "{version:?}: {refused:?}"
            );
        }
    }
}
