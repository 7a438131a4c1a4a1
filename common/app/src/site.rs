//! The options of the demo site: what a stage's command line (or config file) may change about
//! the application it serves, gathered in one value so that a new option reaches every stage
//! without a change to any stage's code (`cli::ServerArgs::site_options` fills it).

use std::path::{Path, PathBuf};

use crate::access_log::Format;
use crate::allowed_hosts::AllowedHost;
use crate::cors::AllowedOrigin;
use crate::security_headers::DEFAULT_REFERRER_POLICY;
use crate::static_files::StaticOptions;
use crate::upload::UploadOptions;
use crate::vhost::VirtualHost;

// ANCHOR: site_options
/// How the demo site is set up. `SiteOptions::new(root)` is every default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteOptions {
    /// The document root static files come from.
    pub root: PathBuf,
    /// Whether a directory without `index.html` shows its listing (`--dir-listing`) instead of
    /// 404.
    pub dir_listing: bool,
    /// The access log's line format (combined or JSON; whether lines are written at all is the
    /// logging set-up's choice).
    pub access_log: Format,
    /// Other document roots, each for the requests to one host name (`--vhost NAME=DIR`).
    pub vhosts: Vec<VirtualHost>,
    /// How static files are sent: compression, `Cache-Control`, the file cache.
    pub static_files: StaticOptions,
    /// Where `POST /upload` saves files, and the largest upload (`--upload-dir`,
    /// `--max-upload`); `None`: no upload route.
    pub upload: Option<UploadOptions>,
    /// Whether every response gets `X-Content-Type-Options: nosniff` and `Referrer-Policy`
    /// (`--no-security-headers` turns them off).
    pub security_headers: bool,
    /// The `Referrer-Policy` value (`--referrer-policy`).
    pub referrer_policy: String,
    /// A `Content-Security-Policy` for every response that has none of its own
    /// (`--content-security-policy`); the generated pages always carry theirs.
    pub content_security_policy: Option<String>,
    /// The origins CORS lets read the answers (`--cors-origin`); none leaves CORS out.
    pub cors_origins: Vec<AllowedOrigin>,
    /// Whether CORS answers allow credentials (`--cors-credentials`).
    pub cors_credentials: bool,
    /// The hosts the site answers for (`--allowed-host`); none allows every host.
    pub allowed_hosts: Vec<AllowedHost>,
    /// `--rate-limit`: requests a second per client address (and bursts of as many); `None`, no
    /// limit.
    pub rate_limit: Option<std::num::NonZeroU32>,
    /// Path prefixes behind Basic authentication, each with its htpasswd file
    /// (`--basic-auth PREFIX=FILE`).
    pub basic_auth: Vec<(String, PathBuf)>,
}
// ANCHOR_END: site_options

impl SiteOptions {
    /// The defaults, serving `root`.
    pub fn new(root: &Path) -> SiteOptions {
        SiteOptions {
            root: root.to_owned(),
            dir_listing: false,
            access_log: Format::Combined,
            vhosts: Vec::new(),
            static_files: StaticOptions::default(),
            upload: None,
            security_headers: true,
            referrer_policy: DEFAULT_REFERRER_POLICY.to_owned(),
            content_security_policy: None,
            cors_origins: Vec::new(),
            cors_credentials: false,
            allowed_hosts: Vec::new(),
            rate_limit: None,
            basic_auth: Vec::new(),
        }
    }
}
