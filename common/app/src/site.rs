//! The options of the demo site: what a stage's command line (or config file) may change about
//! the application it serves, gathered in one value so that a new option reaches every stage
//! without a change to any stage's code (`cli::ServerArgs::site_options` fills it).

use std::path::{Path, PathBuf};

use crate::access_log::Format;
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
        }
    }
}
