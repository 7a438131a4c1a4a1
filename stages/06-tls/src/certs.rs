//! The server's certificates: read from PEM files or made at start, chosen per handshake by the
//! name the client asks for (SNI, RFC 6066 section 3), and replaced without a restart.
//!
//! rustls asks a [`ResolvesServerCert`] for a certificate once per full handshake, with the
//! parsed ClientHello in hand. [`Resolver`] answers from a table that a reload swaps whole: a
//! handshake uses the table it found when it started, new handshakes the new one, and a
//! connection that is already encrypted never looks at it again, so a reload drops nobody.
//! A reload that fails to read or check every file keeps the old table: a half-written or
//! mismatched certificate must never replace a working one.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Where one certificate comes from: a chain and its key, for one server name or (`name: None`)
/// for every client whose name has no certificate of its own, and clients that send none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFiles {
    pub name: Option<String>,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why the certificates could not be used. Each says which file, so a refused start or reload
/// is one line a person can act on.
#[derive(Debug)]
pub enum CertError {
    Read { path: PathBuf, source: io::Error },
    NoCertificate { path: PathBuf },
    MalformedCertificate { path: PathBuf, reason: String },
    NoKey { path: PathBuf, reason: String },
    UnusableKey { path: PathBuf, reason: String },
    KeyMismatch { cert: PathBuf, key: PathBuf },
    Generate(rcgen::Error),
    Write { path: PathBuf, source: io::Error },
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            CertError::NoCertificate { path } => {
                write!(
                    f,
                    "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    path.display()
                )
            }
            CertError::MalformedCertificate { path, reason } => {
                write!(
                    f,
                    "{} is not a valid PEM certificate chain: {reason}",
                    path.display()
                )
            }
            CertError::NoKey { path, reason } => {
                write!(
                    f,
                    "{} holds no usable PEM private key: {reason}",
                    path.display()
                )
            }
            CertError::UnusableKey { path, reason } => {
                write!(
                    f,
                    "the private key in {} cannot sign: {reason}",
                    path.display()
                )
            }
            CertError::KeyMismatch { cert, key } => write!(
                f,
                "the private key in {} does not belong to the certificate in {}",
                key.display(),
                cert.display()
            ),
            CertError::Generate(error) => {
                write!(f, "cannot make a self-signed certificate: {error}")
            }
            CertError::Write { path, source } => {
                write!(
                    f,
                    "cannot write the self-signed certificate to {}: {source}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for CertError {}

// ANCHOR: certificates
/// The certificates in use: one per server name, and the default.
#[derive(Debug)]
pub struct Certificates {
    default: Arc<CertifiedKey>,
    /// Keyed by lower-case DNS name: SNI names are compared without regard to case.
    by_name: HashMap<String, Arc<CertifiedKey>>,
}

impl Certificates {
    /// Reads and checks every file in `files` (exactly one of them without a name: the default).
    pub fn load(files: &[CertFiles], provider: &CryptoProvider) -> Result<Certificates, CertError> {
        let mut default = None;
        let mut by_name = HashMap::new();
        for source in files {
            let key = Arc::new(load_pair(&source.cert, &source.key, provider)?);
            match &source.name {
                None => default = Some(key),
                Some(name) => {
                    by_name.insert(name.to_ascii_lowercase(), key);
                }
            }
        }
        // The command line always names a default (main checks); fall back to any certificate.
        let default = default
            .or_else(|| by_name.values().next().cloned())
            .ok_or_else(|| CertError::NoCertificate {
                path: PathBuf::new(),
            })?;
        Ok(Certificates { default, by_name })
    }

    /// The certificate for a client that asked for `server_name` (or for none).
    pub fn choose(&self, server_name: Option<&str>) -> &Arc<CertifiedKey> {
        server_name
            .and_then(|name| self.by_name.get(&name.to_ascii_lowercase()))
            .unwrap_or(&self.default)
    }
}
// ANCHOR_END: certificates

/// Reads a PEM chain and a PEM key and checks that they belong together, so that a mismatch is
/// found at start (or reload), not by the first client whose handshake fails.
fn load_pair(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, CertError> {
    let cert_pem = read(cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| CertError::MalformedCertificate {
            path: cert.to_owned(),
            reason: error.to_string(),
        })?;
    if chain.is_empty() {
        return Err(CertError::NoCertificate {
            path: cert.to_owned(),
        });
    }
    let key_pem = read(key)?;
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|error| CertError::NoKey {
        path: key.to_owned(),
        reason: error.to_string(),
    })?;
    match CertifiedKey::from_der(chain, private, provider) {
        Ok(certified) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(_)) => Err(CertError::KeyMismatch {
            cert: cert.to_owned(),
            key: key.to_owned(),
        }),
        Err(error) => Err(CertError::UnusableKey {
            path: key.to_owned(),
            reason: error.to_string(),
        }),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    fs::read(path).map_err(|source| CertError::Read {
        path: path.to_owned(),
        source,
    })
}

/// How long the certificate made at start is valid: a server restarted at least this often
/// never serves an expired one, and it stays under the 398 days browsers accept.
pub const SELF_SIGNED_DAYS: i64 = 90;

// ANCHOR: self_signed
/// Makes an ECDSA P-256 certificate for `localhost`, `127.0.0.1` and `::1`, signed by its own
/// key, and writes the certificate (not the key, which never leaves the process) to `path`, so
/// that a client can be told to trust it: `curl --cacert PATH https://localhost:PORT/`.
pub fn self_signed(path: &Path, provider: &CryptoProvider) -> Result<Certificates, CertError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(CertError::Generate)?;
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned()]).map_err(CertError::Generate)?;
    params.subject_alt_names.extend([
        rcgen::SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        rcgen::SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ]);
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "Stagecraft stage 06 (self-signed)",
    );
    let cert = params.self_signed(&key).map_err(CertError::Generate)?;
    fs::write(path, cert.pem()).map_err(|source| CertError::Write {
        path: path.to_owned(),
        source,
    })?;
    let private =
        PrivateKeyDer::try_from(key.serialize_der()).map_err(|reason| CertError::UnusableKey {
            path: path.to_owned(),
            reason: reason.to_owned(),
        })?;
    let certified =
        CertifiedKey::from_der(vec![cert.der().clone()], private, provider).map_err(|error| {
            CertError::UnusableKey {
                path: path.to_owned(),
                reason: error.to_string(),
            }
        })?;
    Ok(Certificates {
        default: Arc::new(certified),
        by_name: HashMap::new(),
    })
}
// ANCHOR_END: self_signed

// ANCHOR: resolver
/// What rustls asks for a certificate, once per full handshake (a resumed one needs none).
#[derive(Debug)]
pub struct Resolver {
    /// Swapped whole by a reload. A read lock per handshake costs a few atomic operations,
    /// nothing beside the signature the handshake makes next.
    current: RwLock<Arc<Certificates>>,
}

impl Resolver {
    pub fn new(certificates: Certificates) -> Resolver {
        Resolver {
            current: RwLock::new(Arc::new(certificates)),
        }
    }

    /// Makes `certificates` the ones new handshakes get.
    pub fn replace(&self, certificates: Certificates) {
        let certificates = Arc::new(certificates);
        // A poisoned lock means a thread panicked while swapping an Arc: the Arc in it is
        // still whole, so go on using the lock.
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = certificates;
    }

    fn current(&self) -> Arc<Certificates> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            self.current().choose(client_hello.server_name()),
        ))
    }
}
// ANCHOR_END: resolver

// ANCHOR: reloader
/// Reloads the certificate files into a [`Resolver`] when told to (SIGHUP) or when one of them
/// changes on disk.
#[derive(Debug)]
pub struct Reloader {
    files: Vec<CertFiles>,
    provider: Arc<CryptoProvider>,
    resolver: Arc<Resolver>,
    /// The modification time of every file at the last look, to notice a change.
    seen: Vec<Option<SystemTime>>,
}

impl Reloader {
    pub fn new(
        files: Vec<CertFiles>,
        provider: Arc<CryptoProvider>,
        resolver: Arc<Resolver>,
    ) -> Reloader {
        let mut reloader = Reloader {
            files,
            provider,
            resolver,
            seen: Vec::new(),
        };
        reloader.seen = reloader.modification_times();
        reloader
    }

    /// Whether a file changed since the last look (or the last reload).
    pub fn changed(&mut self) -> bool {
        let now = self.modification_times();
        if now == self.seen {
            return false;
        }
        self.seen = now;
        true
    }

    /// Reads every file again and, only if all of them are good, hands them to the resolver.
    pub fn reload(&mut self) -> Result<(), CertError> {
        self.seen = self.modification_times();
        let certificates = Certificates::load(&self.files, &self.provider)?;
        self.resolver.replace(certificates);
        Ok(())
    }

    fn modification_times(&self) -> Vec<Option<SystemTime>> {
        self.files
            .iter()
            .flat_map(|source| [&source.cert, &source.key])
            .map(|path| fs::metadata(path).and_then(|meta| meta.modified()).ok())
            .collect()
    }
}
// ANCHOR_END: reloader

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{provider, Crypto};

    /// A scratch directory removed when the test ends.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("stage06-certs-{name}-{}", std::process::id()));
            fs::create_dir_all(&dir).expect("creating a scratch directory in the temp dir");
            Scratch(dir)
        }

        /// Writes a fresh certificate and key for `name`, returning their paths.
        fn pair(&self, stem: &str, name: &str) -> (PathBuf, PathBuf) {
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("keygen");
            let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
                .expect("a DNS name")
                .self_signed(&key)
                .expect("self-signing");
            let cert_path = self.0.join(format!("{stem}.crt"));
            let key_path = self.0.join(format!("{stem}.key"));
            fs::write(&cert_path, cert.pem()).expect("writing the certificate");
            fs::write(&key_path, key.serialize_pem()).expect("writing the key");
            (cert_path, key_path)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn files(name: Option<&str>, (cert, key): (PathBuf, PathBuf)) -> CertFiles {
        CertFiles {
            name: name.map(str::to_owned),
            cert,
            key,
        }
    }

    fn aws() -> CryptoProvider {
        provider(Crypto::AwsLcRs, true)
    }

    #[test]
    fn sni_names_choose_their_certificate_and_others_get_the_default() {
        let dir = Scratch::new("sni");
        let default = files(None, dir.pair("a", "a.test"));
        let other = files(Some("B.test"), dir.pair("b", "b.test"));
        let certificates = Certificates::load(&[default, other], &aws()).expect("both load");
        let b = Arc::clone(certificates.choose(Some("b.test")));
        let default = Arc::clone(certificates.choose(None));
        assert!(!Arc::ptr_eq(&b, &default));
        assert!(
            Arc::ptr_eq(certificates.choose(Some("B.TEST")), &b),
            "names ignore case"
        );
        assert!(Arc::ptr_eq(certificates.choose(Some("c.test")), &default));
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_by_name() {
        let dir = Scratch::new("mismatch");
        let (cert, _) = dir.pair("a", "a.test");
        let (_, other_key) = dir.pair("b", "b.test");
        let error = Certificates::load(&[files(None, (cert, other_key))], &aws())
            .expect_err("a mismatched key must be refused");
        assert!(matches!(error, CertError::KeyMismatch { .. }), "{error}");
        assert!(error.to_string().contains("does not belong"), "{error}");
    }

    #[test]
    fn unreadable_empty_and_malformed_files_say_which_file() {
        let dir = Scratch::new("bad");
        let (cert, key) = dir.pair("a", "a.test");
        let missing = dir.0.join("missing.pem");
        let error = Certificates::load(&[files(None, (missing.clone(), key.clone()))], &aws())
            .expect_err("a missing file");
        assert!(error.to_string().contains("missing.pem"), "{error}");

        let empty = dir.0.join("empty.pem");
        fs::write(&empty, "not pem at all\n").expect("writing");
        let error = Certificates::load(&[files(None, (empty.clone(), key))], &aws())
            .expect_err("no certificate in the file");
        assert!(matches!(error, CertError::NoCertificate { .. }), "{error}");

        let error = Certificates::load(&[files(None, (cert, empty))], &aws())
            .expect_err("no key in the file");
        assert!(matches!(error, CertError::NoKey { .. }), "{error}");
    }

    #[test]
    fn a_failed_reload_keeps_the_certificates_in_use() {
        let dir = Scratch::new("reload");
        let pair = dir.pair("a", "a.test");
        let list = vec![files(None, pair.clone())];
        let provider = Arc::new(aws());
        let resolver = Arc::new(Resolver::new(
            Certificates::load(&list, &provider).expect("loads"),
        ));
        let before = resolver.current();
        let mut reloader = Reloader::new(list, Arc::clone(&provider), Arc::clone(&resolver));
        fs::write(&pair.0, "garbage").expect("overwriting the certificate");
        assert!(reloader.reload().is_err());
        assert!(
            Arc::ptr_eq(&before, &resolver.current()),
            "the old certificates stay"
        );

        let (cert, key) = dir.pair("a", "a.test");
        assert_eq!((cert, key), pair);
        reloader.reload().expect("a good pair reloads");
        assert!(
            !Arc::ptr_eq(&before, &resolver.current()),
            "new handshakes get the new pair"
        );
    }

    #[test]
    fn the_self_signed_certificate_names_localhost_and_is_written_for_clients() {
        let dir = Scratch::new("self-signed");
        let path = dir.0.join("cert.pem");
        let certificates = self_signed(&path, &aws()).expect("made");
        let written = fs::read(&path).expect("the certificate file exists");
        let chain: Vec<_> = CertificateDer::pem_slice_iter(&written)
            .collect::<Result<_, _>>()
            .expect("it is PEM");
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0], certificates.choose(None).cert[0]);
        assert!(
            !String::from_utf8_lossy(&written).contains("PRIVATE KEY"),
            "the key stays in memory"
        );
    }
}
