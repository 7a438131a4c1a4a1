//! The TLS client settings of the kit: whom a [`Conn`](crate::Conn) trusts and which server
//! name it asks for, for the stages that speak HTTPS (stage 06 on).
//!
//! The suite trusts exactly one certificate: the self-signed one the server wrote at start
//! (`--self-signed-cert FILE`, see [`Server`](crate::Server)), never the system's roots, so a
//! test passes only against the server it started. The client is rustls, like the stage, with
//! its crypto provider named (aws-lc-rs, the stage's default): with two providers compiled into
//! the workspace, rustls cannot pick one by itself.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

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
        let mut config = ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
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
