//! The representation of a static file that a request gets (RFC 9110 section 3.2): which
//! content coding (section 12.5.3), and where its bytes come from: the file itself, a
//! precompressed sibling from disk, or the file compressed now, in memory when it is small (and
//! kept in the file cache when the cache takes it), streamed when it is large.

use super::*;

/// One way of sending the file: its coding, its bytes and its validators.
pub(super) struct Representation {
    pub(super) encoding: Encoding,
    pub(super) content_type: Cow<'static, str>,
    pub(super) validators: Validators,
    pub(super) len: u64,
    pub(super) body: RepresentationBody,
    /// Whether `Range` applies: to the file as it is on disk (the original or a precompressed
    /// sibling), yes; to bytes compressed on the fly, whose offsets are not known before
    /// they are made, no (RFC 9110 section 14.2 lets a server ignore `Range`).
    pub(super) ranges: bool,
    /// Whether another client could get another coding: then `Vary: Accept-Encoding`.
    pub(super) varies: bool,
}

pub(super) enum RepresentationBody {
    Memory(Bytes),
    Disk(File),
    /// Compressed as it is sent: the original file, compressed into `encoding`.
    Stream(File),
}

// ANCHOR: representation
/// Picks the coding (RFC 9110 section 12.5.3) and makes the representation in it: the
/// original; a precompressed sibling from disk; or the original compressed now, in memory
/// when it is small (and cached when the cache takes it), streamed when it is large.
pub(super) fn representation(
    context: &Context<'_>,
    request: &Request,
    original: Original,
    now: Instant,
) -> Result<Representation, Response> {
    let options = &context.options.compress;
    let compressible = (options.on_the_fly || options.precompressed)
        && compress::compressible(&original.content_type);
    let mut available = Encodings::IDENTITY;
    if compressible && options.on_the_fly && original.facts.len >= options.min_len {
        available = Encodings::ALL;
    }
    let accept = || request.headers.get_all("accept-encoding");
    // Siblings are looked for only when the client would take a coding, so a request without
    // `Accept-Encoding` costs no extra open.
    let mut siblings: Vec<(Encoding, OpenFile)> = Vec::new();
    let wants_coding = compressible
        && options.precompressed
        && matches!(negotiate(accept(), Encodings::ALL), Negotiated::Use(e) if e != Encoding::Identity);
    if wants_coding {
        for encoding in [Encoding::Brotli, Encoding::Gzip] {
            if original
                .siblings
                .is_some_and(|known| !known.contains(encoding))
            {
                continue;
            }
            if let Some(sibling) = open_sibling(context.root, &original, encoding) {
                available = available.with(encoding);
                siblings.push((encoding, sibling));
            }
        }
        if original.cached && original.siblings.is_none() {
            remember_siblings(context, &original, &siblings, now);
        }
    }
    let varies = compressible;
    let encoding = match negotiate(accept(), available) {
        Negotiated::Use(encoding) => encoding,
        Negotiated::NotAcceptable => {
            let mut refusal = Response::text(
                StatusCode::NOT_ACCEPTABLE,
                "none of the content codings this file is available in (identity, or gzip and \
                 br for text) is acceptable to the client (Accept-Encoding)",
            );
            if varies {
                add_vary(&mut refusal);
            }
            return Err(refusal);
        }
    };
    let base = Validators::new(original.facts.len, original.facts.modified);
    if encoding == Encoding::Identity {
        return Ok(Representation {
            encoding,
            content_type: original.content_type,
            validators: base,
            len: original.facts.len,
            body: match original.source {
                Source::Memory(bytes) => RepresentationBody::Memory(bytes),
                Source::Disk(file) => RepresentationBody::Disk(file),
            },
            ranges: true,
            varies,
        });
    }
    if let Some((_, sibling)) = siblings.into_iter().find(|(e, _)| *e == encoding) {
        // The sibling's own validators (it is its own file), tagged with the coding, strong:
        // its bytes are fixed on disk, so ranges of them are well defined.
        let mut validators = Validators::new(sibling.len, sibling.modified);
        validators.etag = encoded_etag(&validators.etag, encoding, false);
        return Ok(Representation {
            encoding,
            content_type: original.content_type,
            validators,
            len: sibling.len,
            body: RepresentationBody::Disk(sibling.file),
            ranges: true,
            varies,
        });
    }
    // Compressed now. Weak: the bytes depend on the encoder's version and level.
    let mut validators = base;
    validators.etag = encoded_etag(&validators.etag, encoding, true);
    let content_type = original.content_type.clone();
    let source_len = original.facts.len;
    let body = on_the_fly(context, original, encoding, now);
    let len = match &body {
        RepresentationBody::Memory(bytes) => bytes.len() as u64,
        // What is read from the file; the length sent is not known until the end.
        _ => source_len,
    };
    Ok(Representation {
        encoding,
        content_type,
        validators,
        len,
        body,
        ranges: false,
        varies,
    })
}
// ANCHOR_END: representation

/// The original compressed into `encoding`: from the cache, compressed in memory, or streamed.
fn on_the_fly(
    context: &Context<'_>,
    original: Original,
    encoding: Encoding,
    now: Instant,
) -> RepresentationBody {
    let options = &context.options.compress;
    let key = Key {
        root: context.root_index,
        path: original.path,
        encoding,
    };
    if original.cached {
        match context.cache.lookup(&key, now) {
            Lookup::Fresh(cached) if cached.facts == original.facts => {
                return RepresentationBody::Memory(cached.content.clone())
            }
            Lookup::Stale(cached) if cached.facts == original.facts => {
                // Made from the same file as the identity entry, which was just checked.
                context.cache.refresh(&key, now);
                return RepresentationBody::Memory(cached.content.clone());
            }
            _ => {}
        }
    }
    let content = match original.source {
        Source::Memory(bytes) => bytes,
        Source::Disk(file) if original.facts.len <= SMALL_FILE_IN_MEMORY => {
            let mut content = vec![0; original.facts.len as usize];
            if file.read_exact_at(&mut content, 0).is_err() {
                // A file that shrank under us: the stream will end the body abruptly.
                return RepresentationBody::Stream(file);
            }
            Bytes::from(content)
        }
        // ANCHOR: large_stream
        // Large: compressed piece by piece as the driver sends it, in bounded memory.
        Source::Disk(file) => return RepresentationBody::Stream(file),
        // ANCHOR_END: large_stream
    };
    let compressed = compress::compress(&content, encoding, options);
    if original.cached {
        context.cache.insert(
            key,
            Arc::new(Cached {
                content: compressed.clone(),
                facts: original.facts,
                content_type: original.content_type,
                siblings: None,
            }),
            now,
        );
    }
    RepresentationBody::Memory(compressed)
}

/// Opens `FILE.gz` / `FILE.br` beside the original, if it is a regular file no older than the
/// original (an older one was made from an earlier version of the file, and is ignored).
fn open_sibling(root: &DocumentRoot, original: &Original, encoding: Encoding) -> Option<OpenFile> {
    let extension = encoding.sibling_extension()?;
    let path = format!("{}.{extension}", original.path);
    let file = root.open_file(&path).ok()?;
    let metadata = file.metadata().ok()?;
    if !metadata.is_file() {
        return None;
    }
    let modified = metadata.modified().ok()?;
    if modified < original.facts.modified {
        return None;
    }
    Some(OpenFile {
        file,
        len: metadata.len(),
        modified,
        content_type: original.content_type.clone(),
        facts: FileFacts::of(&metadata).ok()?,
    })
}

/// Records in the cached identity entry which siblings exist, so that later hits open only
/// the one they send.
fn remember_siblings(
    context: &Context<'_>,
    original: &Original,
    found: &[(Encoding, OpenFile)],
    now: Instant,
) {
    let Source::Memory(content) = &original.source else {
        return;
    };
    let siblings = found
        .iter()
        .fold(Encodings::IDENTITY, |set, (encoding, _)| {
            set.with(*encoding)
        });
    context.cache.insert(
        Key {
            root: context.root_index,
            path: original.path.clone(),
            encoding: Encoding::Identity,
        },
        Arc::new(Cached {
            content: content.clone(),
            facts: original.facts,
            content_type: original.content_type.clone(),
            siblings: Some(siblings),
        }),
        now,
    );
}
