//! What a TLS stage's `main` does before it serves, written once for stage 06 and stage 07:
//! the TLS flags, reading the certificates (or making a self-signed one) before anything
//! listens, and the task that reloads them on SIGHUP or when a file changes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use cli::{exit_with_error, parse_duration};
use stage05_async::shutdown::Shutdown;
use tracing::{info, warn};

use crate::certs::{self, CertFiles, Certificates, Reloader};
use crate::config::Crypto;

/// How often the certificate files are looked at for a change.
pub const CERTIFICATE_CHECK_EVERY: Duration = Duration::from_secs(2);

// ANCHOR: flags
/// The TLS flags.
#[derive(Args, Debug)]
pub struct TlsArgs {
    /// PEM certificate chain, leaf first [default: a self-signed certificate for localhost,
    /// 127.0.0.1 and ::1, made at start].
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// PEM private key of --cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Another certificate, for clients that ask for NAME by SNI; repeatable. Clients that ask
    /// for another name, or none, get --cert.
    #[arg(long, value_name = "NAME=CERT,KEY", value_parser = parse_sni, requires = "cert")]
    pub sni: Vec<CertFiles>,

    /// Where the self-signed certificate is written, for clients to trust [default: a file in
    /// the temporary directory, named in the log].
    #[arg(long, value_name = "FILE", conflicts_with = "cert")]
    pub self_signed_cert: Option<PathBuf>,

    /// The cryptography under rustls: aws-lc-rs has the post-quantum hybrid, ring does not.
    #[arg(long, value_enum, default_value_t = Crypto::AwsLcRs)]
    pub crypto: Crypto,

    /// Turn off the post-quantum hybrid key exchange (X25519MLKEM768), for comparisons:
    /// X25519 and P-256 only.
    #[arg(long)]
    pub no_pq_hybrid: bool,

    /// Time from the TCP connection to the end of the TLS handshake before the server closes.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub handshake_timeout: Duration,

    /// Also listen for plain HTTP here, answering every request with 308 to the https URL.
    #[arg(long, value_name = "ADDR")]
    pub redirect_http: Option<SocketAddr>,

    /// Add `Strict-Transport-Security: max-age=SECONDS` to every https response.
    #[arg(long, value_name = "SECONDS")]
    pub hsts: Option<u64>,
}
// ANCHOR_END: flags

/// `NAME=CERT,KEY` for `--sni`.
pub fn parse_sni(text: &str) -> Result<CertFiles, String> {
    let usage = || format!("{text:?} is not NAME=CERT,KEY");
    let (name, files) = text.split_once('=').ok_or_else(usage)?;
    let (cert, key) = files.split_once(',').ok_or_else(usage)?;
    let name_is_dns = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !name_is_dns || cert.is_empty() || key.is_empty() {
        return Err(usage());
    }
    Ok(CertFiles {
        name: Some(name.to_owned()),
        cert: cert.into(),
        key: key.into(),
    })
}

/// The certificates the flags name (and the files to watch), or a self-signed one (and where
/// it was written, named after `stage`). Exits with one line on any error.
pub fn load_certificates(
    tls: &TlsArgs,
    provider: &rustls::crypto::CryptoProvider,
    stage: &str,
) -> (Certificates, Vec<CertFiles>, Option<PathBuf>) {
    match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            let mut files = vec![CertFiles {
                name: None,
                cert: cert.clone(),
                key: key.clone(),
            }];
            files.extend(tls.sni.iter().cloned());
            let certificates = Certificates::load(&files, provider)
                .unwrap_or_else(|error| exit_with_error(error, 1));
            (certificates, files, None)
        }
        _ => {
            let path = tls.self_signed_cert.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!(
                    "stagecraft-{stage}-{}-cert.pem",
                    std::process::id()
                ))
            });
            let certificates = certs::self_signed(&path, provider)
                .unwrap_or_else(|error| exit_with_error(error, 1));
            (certificates, Vec::new(), Some(path))
        }
    }
}

// ANCHOR: watch_certificates
/// Reloads the certificates on SIGHUP and when a file changes, until shutdown. A reload that
/// fails keeps the certificates in use and says why; the next change or SIGHUP tries again.
pub async fn watch_certificates(
    mut reloader: Reloader,
    from_files: bool,
    mut hangup: tokio::signal::unix::Signal,
    shutdown: Shutdown,
) {
    let mut check = tokio::time::interval(CERTIFICATE_CHECK_EVERY);
    loop {
        let why = tokio::select! {
            () = shutdown.requested() => return,
            _ = hangup.recv() => "SIGHUP",
            _ = check.tick(), if from_files => {
                if !reloader.changed() {
                    continue;
                }
                "a certificate file changed"
            }
        };
        if !from_files {
            info!(why, "the certificate was made at start: nothing to reload");
            continue;
        }
        match reloader.reload() {
            Ok(()) => info!(why, "certificates reloaded: new handshakes get them"),
            Err(error) => warn!(why, %error, "certificates not reloaded: keeping the ones in use"),
        }
    }
}
// ANCHOR_END: watch_certificates
