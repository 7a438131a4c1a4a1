//! `POST /upload`: files from a `multipart/form-data` form (RFC 7578), streamed to disk as they
//! arrive, never held whole in memory.
//!
//! The protocol crate collects ordinary bodies in memory up to `--max-body`. For an upload it
//! asks the application's body-sink hook ([`protocol::sink`]) once the request head is in,
//! and [`body_sinks`] answers for `POST /upload` with a `multipart/form-data` content type: an
//! [`UploadSink`], with `--max-upload` as its limit. The connection then hands each piece of
//! the decoded body to the sink as it arrives; the sink runs the streaming
//! [`multipart`] parser over it and writes each file part to a temporary
//! file in `--upload-dir`. The request reaches [`upload_received`] only once the whole body
//! has arrived and parsed, carrying what was saved ([`Uploaded`]).
//!
//! The rules the files follow:
//!
//! - **No partial file, ever.** A file part goes to `.upload-PID-N.part`, created with
//!   `O_EXCL` (never an existing file, never through a symlink planted there). Only when the
//!   whole body has arrived and parsed is each temporary file linked to its final name and
//!   removed; if the body is cut short, malformed, past the limit, stalled, reset or the disk
//!   fails, dropping the sink removes every temporary file. What is left after a crash
//!   (`kill -9` in mid-upload) is a `.upload-*.part` file, which the name says to delete.
//! - **Safe names** ([`safe_name`]): the last path component of what the client sent, with
//!   every character but ASCII letters, digits, `.`, `-` and `_` replaced by `_`, no leading
//!   dot (so no hidden file, no `..`, and never a temporary file's name), at most
//!   [`MAX_NAME`] bytes, `upload` if nothing is left.
//! - **No overwrite**: the final name is made with `link(2)`, which fails rather than replace
//!   an existing file; the next name (`notes-1.txt`, `notes-2.txt`...) is tried instead.
//! - **Fields are small**: a part without a file name is a form field, kept in memory, at most
//!   [`MAX_FIELD`] bytes each and [`MAX_FIELDS_TOTAL`] in all (past it: 413).
//!
//! The answers: 200 with the saved names and sizes (JSON, or an HTML page for a browser);
//! 400 for a malformed body or a form without a file; 413 past `--max-upload` (before any of
//! the body is read when the length is declared); 415 for a body that is not
//! `multipart/form-data`; 507 when the disk is full, 500 for another disk error. A refusal
//! found while the body streams (400, 413, 507) comes from the connection, like every
//! refusal of a malformed request, and on HTTP/1.1 the connection closes after it, since the
//! rest of the body was not read.
//!
//! What it costs: the disk writes run on the thread that reads the connection, inside
//! `handle_read`. For the blocking stages (01-03) that is the connection's own thread or
//! process; in stage 04's event loop, and on stage 05-07's runtime threads, a slow disk
//! stalls every connection that thread serves for the length of a write (at most 64 KiB).

use std::any::Any;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;

use crate::error_pages::prefers_html;
use crate::multipart::{self, MultipartError, Parser, PartHead, Parts};
use crate::router::Params;
use crate::templates::{self, context};
use crate::AppError;
use protocol::{BodySink, BodySinks, Method, Request, Response, SinkError, Sinking, StatusCode};

/// The default of `--max-upload`: 100 MiB.
pub const DEFAULT_MAX_UPLOAD: u64 = 100 * 1024 * 1024;

/// The longest saved file name, in bytes (file systems allow 255).
pub const MAX_NAME: usize = 100;

/// The most bytes of one form field (a part without a file name).
pub const MAX_FIELD: usize = 64 * 1024;

/// The most bytes of all form fields of one upload together.
pub const MAX_FIELDS_TOTAL: usize = 256 * 1024;

/// The most files one upload may save.
pub const MAX_FILES: usize = 100;

/// The path the upload route answers.
pub const UPLOAD_PATH: &str = "/upload";

/// Where uploads go, and how large one may be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadOptions {
    /// The directory files are saved in (`--upload-dir`).
    pub dir: PathBuf,
    /// The most body bytes one upload may have (`--max-upload`).
    pub max_upload: u64,
}

/// One saved file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SavedFile {
    /// The form field it came in.
    pub field: String,
    /// The name it was saved under, in the upload directory.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

/// One form field that came with the files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
}

/// What one upload saved: what the sink hands the route, and what the route answers with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Uploaded {
    pub files: Vec<SavedFile>,
    pub fields: Vec<Field>,
}

/// Why an upload failed.
#[derive(Debug)]
pub enum UploadError {
    /// The body is not a well-formed multipart body.
    Multipart(MultipartError),
    /// A form field past [`MAX_FIELD`], or all of them past [`MAX_FIELDS_TOTAL`].
    FieldTooLarge,
    /// More than [`MAX_FILES`] files.
    TooManyFiles,
    /// Writing, linking or removing a file failed.
    Disk(io::Error),
}

impl UploadError {
    /// The status code that answers it.
    pub fn status(&self) -> StatusCode {
        match self {
            UploadError::Multipart(_) | UploadError::TooManyFiles => StatusCode::BAD_REQUEST,
            UploadError::FieldTooLarge => StatusCode::CONTENT_TOO_LARGE,
            // ENOSPC and EDQUOT: RFC 4918 section 11.5, "the server is unable to store the
            // representation needed to successfully complete the request".
            UploadError::Disk(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
                ) =>
            {
                StatusCode::INSUFFICIENT_STORAGE
            }
            UploadError::Disk(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl std::fmt::Display for UploadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadError::Multipart(error) => write!(f, "malformed upload: {error}"),
            UploadError::FieldTooLarge => write!(
                f,
                "a form field is larger than {MAX_FIELD} bytes, or all are larger than {MAX_FIELDS_TOTAL}"
            ),
            UploadError::TooManyFiles => write!(f, "an upload may have at most {MAX_FILES} files"),
            // The path is not shown: it is the server's business, not the client's.
            UploadError::Disk(error) => write!(f, "the upload could not be stored: {error}"),
        }
    }
}

impl std::error::Error for UploadError {}

impl From<MultipartError> for UploadError {
    fn from(error: MultipartError) -> UploadError {
        UploadError::Multipart(error)
    }
}

impl From<UploadError> for SinkError {
    fn from(error: UploadError) -> SinkError {
        if let UploadError::Disk(disk) = &error {
            tracing::error!(%disk, "an upload failed on disk");
        }
        SinkError::new(error.status(), error.to_string())
    }
}

/// Checks, at start, that `dir` is a directory this process can create files in: by creating
/// (and at once removing) a temporary file there, the same way an upload will.
pub fn check_dir(dir: &Path) -> Result<(), AppError> {
    let unusable = |source| AppError::UploadDirUnusable {
        path: dir.to_owned(),
        source,
    };
    if !fs::metadata(dir).map_err(unusable)?.is_dir() {
        return Err(unusable(io::Error::new(
            io::ErrorKind::NotADirectory,
            "not a directory",
        )));
    }
    TempFile::create(dir).map(drop).map_err(unusable)
}

// ANCHOR: body_sinks
/// The hook that streams `POST /upload` bodies of type `multipart/form-data` (with a valid
/// boundary) to an [`UploadSink`] in `options.dir`, with `options.max_upload` as the limit.
/// Every other request keeps its body in memory, and the route answers what does not stream
/// (415 for another type, 400 for a bad boundary).
pub fn body_sinks(options: &UploadOptions) -> BodySinks {
    let options = options.clone();
    BodySinks::new(move |request: &Request| {
        if request.method != Method::Post || request.path() != UPLOAD_PATH {
            return None;
        }
        let boundary = multipart::boundary(request.headers.get_str("content-type")?).ok()?;
        Some(Sinking {
            sink: Box::new(UploadSink::new(&options.dir, &boundary)),
            limit: options.max_upload,
        })
    })
}
// ANCHOR_END: body_sinks

// ANCHOR: upload_sink
/// The body sink of one upload: the multipart parser, and what it has saved so far.
///
/// Dropped before [`finish`](BodySink::finish) (the body did not arrive whole, or failed),
/// it removes every temporary file it made: [`TempFile`]'s `Drop` does it.
pub struct UploadSink {
    parser: Parser,
    saving: Saving,
}

impl UploadSink {
    /// A sink writing the files of a body with `boundary` into `dir`.
    pub fn new(dir: &Path, boundary: &str) -> UploadSink {
        UploadSink {
            parser: Parser::new(boundary),
            saving: Saving {
                dir: dir.to_owned(),
                current: None,
                files: Vec::new(),
                fields: Vec::new(),
                field_bytes: 0,
            },
        }
    }
}

impl BodySink for UploadSink {
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError> {
        Ok(self.parser.feed(chunk, &mut self.saving)?)
    }

    fn finish(self: Box<Self>) -> Result<Arc<dyn Any + Send + Sync>, SinkError> {
        let UploadSink { parser, saving } = *self;
        parser.finish().map_err(UploadError::from)?;
        Ok(Arc::new(saving.complete()?))
    }
}
// ANCHOR_END: upload_sink

/// The part being received.
enum Current {
    /// A file part, going to its temporary file.
    File {
        field: String,
        filename: String,
        temp: TempFile,
    },
    /// A form field, collected in memory.
    Field { name: String, value: Vec<u8> },
    /// A file input left empty (`filename=""`): skipped.
    Skipped,
}

/// What one upload has received so far.
struct Saving {
    dir: PathBuf,
    current: Option<Current>,
    /// Complete file parts, in their temporary files: (field, name the client gave, file).
    files: Vec<(String, String, TempFile)>,
    fields: Vec<Field>,
    field_bytes: usize,
}

impl Parts for Saving {
    type Error = UploadError;

    fn begin(&mut self, head: PartHead) -> Result<(), UploadError> {
        self.current = Some(match head.filename {
            Some(filename) if filename.is_empty() => Current::Skipped,
            Some(filename) => {
                if self.files.len() >= MAX_FILES {
                    return Err(UploadError::TooManyFiles);
                }
                Current::File {
                    field: head.name,
                    filename,
                    temp: TempFile::create(&self.dir).map_err(UploadError::Disk)?,
                }
            }
            None => Current::Field {
                name: head.name,
                value: Vec::new(),
            },
        });
        Ok(())
    }

    fn data(&mut self, bytes: &[u8]) -> Result<(), UploadError> {
        match &mut self.current {
            Some(Current::File { temp, .. }) => temp.write(bytes).map_err(UploadError::Disk),
            Some(Current::Field { value, .. }) => {
                self.field_bytes += bytes.len();
                if value.len() + bytes.len() > MAX_FIELD || self.field_bytes > MAX_FIELDS_TOTAL {
                    return Err(UploadError::FieldTooLarge);
                }
                value.extend_from_slice(bytes);
                Ok(())
            }
            Some(Current::Skipped) | None => Ok(()),
        }
    }

    fn end(&mut self) -> Result<(), UploadError> {
        match self.current.take() {
            Some(Current::File {
                field,
                filename,
                mut temp,
            }) => {
                temp.flush().map_err(UploadError::Disk)?;
                self.files.push((field, filename, temp));
            }
            Some(Current::Field { name, value }) => self.fields.push(Field {
                name,
                value: String::from_utf8_lossy(&value).into_owned(),
            }),
            Some(Current::Skipped) | None => {}
        }
        Ok(())
    }
}

impl Saving {
    // ANCHOR: complete
    /// The whole body arrived and parsed: each temporary file gets its final name. If one
    /// cannot, the ones already named are removed again, so the upload is all or nothing.
    fn complete(self) -> Result<Uploaded, UploadError> {
        let mut uploaded = Uploaded {
            files: Vec::new(),
            fields: self.fields,
        };
        let mut named: Vec<PathBuf> = Vec::new();
        for (field, filename, temp) in self.files {
            match temp.persist(&self.dir, &safe_name(&filename)) {
                Ok((path, size)) => {
                    uploaded.files.push(SavedFile {
                        field,
                        name: file_name_of(&path),
                        size,
                    });
                    named.push(path);
                }
                Err(error) => {
                    for path in named {
                        // Best effort: the error that stopped the upload is the one to report.
                        let _ = fs::remove_file(path);
                    }
                    return Err(UploadError::Disk(error));
                }
            }
        }
        Ok(uploaded)
    }
    // ANCHOR_END: complete
}

fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

// ANCHOR: temp_file
/// A file being written under a temporary name, removed when dropped unless it was
/// [`persist`](Self::persist)ed under its final name.
pub struct TempFile {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    size: u64,
}

/// Numbers temporary files within this process (with the PID, unique on the machine).
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// The prefix of every temporary file's name. [`safe_name`] never makes a name that starts
/// with a dot, so no final name can be one.
pub const TEMP_PREFIX: &str = ".upload-";

impl TempFile {
    /// A new, empty temporary file in `dir`, created with `O_EXCL`: an existing file of that
    /// name (a stale one, or a symlink someone planted) is never opened; the next number is
    /// tried instead.
    pub fn create(dir: &Path) -> io::Result<TempFile> {
        let pid = std::process::id();
        for _ in 0..100 {
            let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("{TEMP_PREFIX}{pid}-{n}.part"));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        file: Some(BufWriter::with_capacity(64 * 1024, file)),
                        size: 0,
                    })
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(error),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary file name in the upload directory",
        ))
    }

    fn writer(&mut self) -> io::Result<&mut BufWriter<File>> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the temporary file is already closed"))
    }

    /// Appends `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer()?.write_all(bytes)?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    /// Writes out what is buffered and waits for it to reach the disk.
    pub fn flush(&mut self) -> io::Result<()> {
        let writer = self.writer()?;
        writer.flush()?;
        writer.get_ref().sync_all()
    }

    /// Gives the file its final name in `dir`: `name`, or the first of `stem-1.ext`,
    /// `stem-2.ext`... that does not exist yet. `link(2)` makes the name, so an existing file
    /// is never replaced, and the file appears under it complete. Returns the path and size.
    pub fn persist(mut self, dir: &Path, name: &str) -> io::Result<(PathBuf, u64)> {
        self.flush()?;
        let (stem, extension) = match name.rfind('.') {
            Some(dot) if dot > 0 => name.split_at(dot),
            _ => (name, ""),
        };
        for n in 0..1000u32 {
            let candidate = if n == 0 {
                name.to_owned()
            } else {
                format!("{stem}-{n}{extension}")
            };
            let path = dir.join(&candidate);
            match fs::hard_link(&self.path, &path) {
                Ok(()) => {
                    // The temporary name goes; the file stays under its final one. A failure
                    // here leaves the temporary name too, which Drop tries again.
                    if fs::remove_file(&self.path).is_ok() {
                        self.file = None;
                        self.path = PathBuf::new();
                    }
                    return Ok((path, self.size));
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(error),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{name} and its next 999 variants all exist"),
        ))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            // Nothing to tell anyone from a destructor; a file that cannot be removed is the
            // rare leftover the module doc describes.
            let _ = fs::remove_file(&self.path);
        }
    }
}
// ANCHOR_END: temp_file

// ANCHOR: safe_name
/// The name a file the client called `raw` is saved under: only its last path component
/// (after `/` or `\`), each character outside ASCII letters, digits, `.`, `-` and `_` made
/// `_`, leading dots removed, at most [`MAX_NAME`] bytes (the extension kept when it is
/// short), and `upload` if nothing is left.
pub fn safe_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    if trimmed.is_empty() {
        return "upload".to_owned();
    }
    if trimmed.len() <= MAX_NAME {
        return trimmed.to_owned();
    }
    // Every character is ASCII now, so byte offsets are character boundaries.
    match trimmed.rfind('.') {
        Some(dot) if trimmed.len() - dot <= 16 => {
            let extension = &trimmed[dot..];
            format!("{}{extension}", &trimmed[..MAX_NAME - extension.len()])
        }
        _ => trimmed[..MAX_NAME].to_owned(),
    }
}
// ANCHOR_END: safe_name

// ANCHOR: upload_received
/// `POST /upload`: what the sink saved, as JSON, or as a page for a browser. A request whose
/// body did not stream to the sink was not an upload the hook took: 415 for another type,
/// 400 for a multipart type without a valid boundary or an empty body.
pub fn upload_received(request: &Request, _: &Params) -> Response {
    let Some(uploaded) = request
        .streamed
        .as_ref()
        .and_then(|streamed| streamed.downcast_ref::<Uploaded>())
    else {
        let content_type = request.headers.get_str("content-type").unwrap_or_default();
        return match multipart::boundary(content_type) {
            Err(MultipartError::NotFormData) => Response::text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "POST /upload takes multipart/form-data (a form with enctype=\"multipart/form-data\", or curl -F file=@NAME)",
            )
            .header("accept-post", "multipart/form-data"),
            Err(error) => Response::text(StatusCode::BAD_REQUEST, error.to_string()),
            Ok(_) => Response::text(StatusCode::BAD_REQUEST, MultipartError::NoParts.to_string()),
        };
    };
    if uploaded.files.is_empty() {
        return Response::text(
            StatusCode::BAD_REQUEST,
            "the form has no file: give a file part a filename (curl -F file=@NAME)",
        );
    }
    if prefers_html(request.headers.get_str("accept")) {
        return templates::page(
            StatusCode::OK,
            "upload_received.html",
            context! { files => &uploaded.files, fields => &uploaded.fields },
        );
    }
    match serde_json::to_vec(uploaded) {
        Ok(json) => Response::with_body(StatusCode::OK, "application/json", json),
        // Strings and numbers always serialize; a 500 rather than a panic if they ever did not.
        Err(error) => Response::text(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    }
}
// ANCHOR_END: upload_received

#[cfg(test)]
mod tests;
