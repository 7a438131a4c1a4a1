//! What do HPACK decoding and encoding cost?
//!
//! The input is the hpack-test-case corpus (shared/testdata/hpack-test-case, found by `src/h2/testdata.rs`): 5 encoders'
//! renderings of 31 or 32 stories of real requests and responses, about 3,400 header blocks
//! per encoder. Each story is a connection, so each iteration gives each story a fresh
//! decoder (or encoder) and runs its blocks through it in order, as a connection would:
//!
//! - `decode/<implementation>`: [`Decoder::decode`] over every block that implementation's
//!   encoder produced (its choices of indexing and Huffman coding differ, and so does the cost);
//! - `encode`: [`Encoder::encode`] over every header list of the raw stories, with the default
//!   choices (Huffman when shorter);
//! - `huffman_decode`: [`huffman::decode`] alone, over every header value of the raw stories
//!   Huffman-coded beforehand: the inner loop of string decoding, by itself.
//!
//! The decode and encode groups report throughput in fields, the Huffman group in coded octets.
//! `cargo bench -p protocol --bench hpack -- --test` runs each once as a smoke test.

#[path = "../src/h2/testdata.rs"]
mod testdata;

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use protocol::h2::hpack::{huffman, Decoder, Encoder, DEFAULT_TABLE_SIZE};
use serde_json::Value;

/// One header block of a story: the table size acknowledged before it, its wire (when the
/// story has one) and its fields.
struct Block {
    header_table_size: Option<usize>,
    wire: Vec<u8>,
    fields: Vec<(Vec<u8>, Vec<u8>)>,
}

fn corpus_directory(name: &str) -> PathBuf {
    testdata::dir("hpack-test-case").join(name)
}

/// Every story of one directory, in name order.
fn stories(name: &str) -> Vec<Vec<Block>> {
    let mut paths: Vec<PathBuf> = fs::read_dir(corpus_directory(name))
        .expect("a readable directory")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths.iter().map(|path| load(path)).collect()
}

fn load(path: &Path) -> Vec<Block> {
    let story: Value = serde_json::from_str(&fs::read_to_string(path).expect("readable story"))
        .expect("a story is JSON");
    story["cases"]
        .as_array()
        .expect("a story has cases")
        .iter()
        .map(|case| Block {
            header_table_size: case["header_table_size"].as_u64().map(|n| n as usize),
            wire: case["wire"].as_str().map(hex).unwrap_or_default(),
            fields: case["headers"]
                .as_array()
                .expect("a case has headers")
                .iter()
                .flat_map(|header| header.as_object().expect("a header is an object"))
                .map(|(name, value)| {
                    let value = value.as_str().expect("a string value");
                    (name.as_bytes().to_vec(), value.as_bytes().to_vec())
                })
                .collect(),
        })
        .collect()
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

fn field_count(stories: &[Vec<Block>]) -> u64 {
    stories
        .iter()
        .flatten()
        .map(|block| block.fields.len() as u64)
        .sum()
}

/// Decodes every story, each with a fresh decoder; returns the fields decoded.
fn decode_all(stories: &[Vec<Block>]) -> usize {
    let mut decoded = 0;
    let mut fields = Vec::new();
    for story in stories {
        let mut decoder = Decoder::new(DEFAULT_TABLE_SIZE);
        for block in story {
            if let Some(size) = block.header_table_size {
                decoder.set_max_table_size(size);
            }
            fields.clear();
            decoder
                .decode(&block.wire, usize::MAX, &mut fields)
                .expect("the corpus decodes");
            decoded += fields.len();
        }
    }
    decoded
}

/// Encodes every story, each with a fresh encoder; returns the octets written.
fn encode_all(stories: &[Vec<Block>]) -> usize {
    let mut written = 0;
    let mut out = Vec::new();
    for story in stories {
        let mut encoder = Encoder::new();
        for block in story {
            if let Some(size) = block.header_table_size {
                encoder.set_peer_max_table_size(size);
            }
            out.clear();
            encoder.encode(
                block
                    .fields
                    .iter()
                    .map(|(name, value)| (name.as_slice(), value.as_slice())),
                &mut out,
            );
            written += out.len();
        }
    }
    written
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for implementation in [
        "go-hpack",
        "nghttp2",
        "nghttp2-change-table-size",
        "python-hpack",
        "swift-nio-hpack-huffman",
    ] {
        let stories = stories(implementation);
        group.throughput(Throughput::Elements(field_count(&stories)));
        group.bench_function(implementation, |b| {
            b.iter(|| decode_all(black_box(&stories)))
        });
    }
    group.finish();
}

fn bench_encode(c: &mut Criterion) {
    let stories = stories("raw-data");
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(field_count(&stories)));
    group.bench_function("raw-data", |b| b.iter(|| encode_all(black_box(&stories))));
    group.finish();
}

fn bench_huffman(c: &mut Criterion) {
    let coded: Vec<Vec<u8>> = stories("raw-data")
        .iter()
        .flatten()
        .flat_map(|block| &block.fields)
        .map(|(_, value)| {
            let mut out = Vec::new();
            huffman::encode(value, &mut out);
            out
        })
        .collect();
    let octets: usize = coded.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("huffman_decode");
    group.throughput(Throughput::Bytes(octets as u64));
    group.bench_function("raw-data values", |b| {
        let mut out = Vec::with_capacity(4096);
        b.iter(|| {
            for string in black_box(&coded) {
                out.clear();
                huffman::decode(string, &mut out).expect("our own coding decodes");
            }
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_decode, bench_encode, bench_huffman);
criterion_main!(benches);
