//! The TLS settings every connection shares: which cryptography, which versions, which key
//! exchanges, which application protocol, and how sessions are resumed.
//!
//! One `rustls::ServerConfig` is built at start and shared by every connection (an `Arc`):
//! nothing in it is per connection except the session cache, which is shared on purpose.

use std::fmt;
use std::sync::Arc;

use clap::ValueEnum;
use rustls::crypto::CryptoProvider;
use rustls::server::{ResolvesServerCert, ServerSessionMemoryCache};
use rustls::version::{TLS12, TLS13};
use rustls::ServerConfig;

/// Sessions the stateful cache keeps, at most, for clients that resume by session ID (TLS 1.2
/// without tickets). Each entry is a few hundred bytes, so the cache stays under 2 MiB however
/// many clients come; past it the oldest entry goes.
pub const SESSION_CACHE_ENTRIES: usize = 4096;

/// The application protocol this stage speaks, by its ALPN names (RFC 7301): HTTP/1.1, and
/// HTTP/1.0, which `curl --http1.0` offers alone and the same machine serves. Stage 07 passes
/// its own list, with `h2` first, to [`server_config`].
pub const ALPN_HTTP1: &[&[u8]] = &[b"http/1.1", b"http/1.0"];

/// Which library does the cryptography under rustls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Crypto {
    /// AWS-LC (a fork of BoringSSL): the only one with the post-quantum hybrid, X25519MLKEM768.
    #[value(name = "aws-lc-rs")]
    AwsLcRs,
    /// ring: X25519 and P-256 only.
    Ring,
}

impl fmt::Display for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Crypto::AwsLcRs => "aws-lc-rs",
            Crypto::Ring => "ring",
        })
    }
}

// ANCHOR: provider
/// The crypto provider, with the key exchanges this stage offers, best first.
///
/// X25519MLKEM768 (ML-KEM, FIPS 203, beside X25519) protects today's traffic against a future
/// quantum computer; X25519 and P-256 are accepted for every client that lacks it. A client
/// that sent a key share for X25519 only still gets X25519 at once: rustls prefers a group the
/// client has already sent a share for over a round trip to ask for a better one.
pub fn provider(crypto: Crypto, pq_hybrid: bool) -> CryptoProvider {
    match crypto {
        Crypto::AwsLcRs => {
            use rustls::crypto::aws_lc_rs::{default_provider, kx_group};
            let mut provider = default_provider();
            provider.kx_groups = if pq_hybrid {
                vec![
                    kx_group::X25519MLKEM768,
                    kx_group::X25519,
                    kx_group::SECP256R1,
                ]
            } else {
                vec![kx_group::X25519, kx_group::SECP256R1]
            };
            provider
        }
        Crypto::Ring => {
            use rustls::crypto::ring::{default_provider, kx_group};
            let mut provider = default_provider();
            provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1];
            provider
        }
    }
}
// ANCHOR_END: provider

/// Why the TLS settings could not be built.
#[derive(Debug)]
pub struct ConfigError(rustls::Error);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot set up TLS: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

// ANCHOR: server_config
/// The shared settings: TLS 1.2 and 1.3 only, the application protocols `alpn` in the server's
/// order of preference (this stage passes [`ALPN_HTTP1`]), certificates from `resolver`, and
/// both ways to resume a session.
pub fn server_config(
    provider: Arc<CryptoProvider>,
    crypto: Crypto,
    resolver: Arc<dyn ResolvesServerCert>,
    alpn: &[&[u8]],
) -> Result<ServerConfig, ConfigError> {
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13, &TLS12])
        .map_err(ConfigError)?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    // A client that offers ALPN but none of these gets the `no_application_protocol` alert
    // (RFC 7301 section 3.2); a client that offers no ALPN at all is served HTTP/1.1. rustls
    // picks the first of ours that the client offers: the server's order decides.
    config.alpn_protocols = alpn.iter().map(|name| name.to_vec()).collect();
    // The server's order of cipher suites decides, not the client's: AES-256-GCM first, as the
    // provider lists them. Every suite offered is an AEAD with forward secrecy, so this guards
    // against a client that lists a weaker one first rather than a weak suite; testssl rates a
    // server without its own order HIGH.
    config.ignore_client_order = true;
    // Resumption, two ways. Tickets: the session's state, encrypted with a key only this
    // process knows, is handed to the client to keep, so the server remembers nothing (the
    // ticketer rotates that key every 6 hours). Session IDs (TLS 1.2 clients without tickets):
    // the server keeps the state, in this bounded cache.
    config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE_ENTRIES);
    config.ticketer = match crypto {
        Crypto::AwsLcRs => rustls::crypto::aws_lc_rs::Ticketer::new(),
        Crypto::Ring => rustls::crypto::ring::Ticketer::new(),
    }
    .map_err(ConfigError)?;
    Ok(config)
}
// ANCHOR_END: server_config
