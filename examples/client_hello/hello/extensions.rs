//! The extensions: one function that reads an extension's data by its type, into the value
//! column of the table (and into [`ClientHello`]'s fields where a test or the chapter asks about
//! one). An extension is a type and a vector of bytes (RFC 8446 section 4.2); what the bytes
//! hold is defined by the RFC that registered the type, named next to each arm. A type this
//! reader does not know is shown as its length.

use super::names::{group, names, signature_scheme, version};
use super::reader::Reader;
use super::{ClientHello, Error};

/// One extension's data, decoded into the value column (and into `hello` where a test or the
/// chapter asks about it).
pub(super) fn extension(
    kind: u16,
    data: &mut Reader<'_>,
    hello: &mut ClientHello,
) -> Result<String, Error> {
    Ok(match kind {
        0x0000 => {
            // ServerNameList: { NameType (0: host_name), HostName<1..2^16-1> }<1..2^16-1>
            let mut list = data.vec16("server_name")?;
            let mut names = Vec::new();
            while !list.done() {
                let name_type = list.u8("server_name")?;
                let name = list.vec16("server_name")?.rest();
                let name = String::from_utf8_lossy(name).into_owned();
                if name_type == 0 && hello.server_name.is_none() {
                    hello.server_name = Some(name.clone());
                }
                names.push(name);
            }
            format!("host_name {}", names.join(", "))
        }
        0x000a => {
            hello.groups = data
                .vec16("supported_groups")?
                .u16_list("supported_groups")?;
            names(&hello.groups, group)
        }
        0x000b => {
            let formats = data.vec8("ec_point_formats")?.rest().to_vec();
            let list: Vec<&str> = formats
                .iter()
                .map(|f| match f {
                    0 => "uncompressed",
                    1 => "ansiX962_compressed_prime",
                    2 => "ansiX962_compressed_char2",
                    _ => "unknown",
                })
                .collect();
            list.join(", ")
        }
        0x000d | 0x0032 => {
            let schemes = data
                .vec16("signature_algorithms")?
                .u16_list("signature_algorithms")?;
            names(&schemes, signature_scheme)
        }
        0x0010 => {
            // ProtocolNameList: ProtocolName<1..2^8-1> list<2..2^16-1>
            let mut list = data.vec16("application_layer_protocol_negotiation")?;
            while !list.done() {
                let name = list.vec8("application_layer_protocol_negotiation")?.rest();
                hello.alpn.push(String::from_utf8_lossy(name).into_owned());
            }
            hello.alpn.join(", ")
        }
        0x002b => {
            let mut list = data.vec8("supported_versions")?;
            hello.versions = list.u16_list("supported_versions")?;
            hello
                .versions
                .iter()
                .map(|&v| version(v))
                .collect::<Vec<_>>()
                .join(", ")
        }
        0x002d => {
            let modes: Vec<&str> = data
                .vec8("psk_key_exchange_modes")?
                .rest()
                .iter()
                .map(|mode| match mode {
                    0 => "psk_ke (resume without a new key exchange)",
                    1 => "psk_dhe_ke (resume with a new key exchange)",
                    _ => "unknown",
                })
                .collect();
            modes.join(", ")
        }
        // ANCHOR: key_share
        0x0033 => {
            // KeyShareEntry: { NamedGroup group; opaque key_exchange<1..2^16-1>; } list
            let mut list = data.vec16("key_share")?;
            let mut shares = Vec::new();
            while !list.done() {
                let group_id = list.u16("key_share")?;
                let key = list.vec16("key_share")?.remaining();
                hello.key_shares.push((group_id, key));
                shares.push(format!("{}, {key} bytes of key", group(group_id)));
            }
            shares.join("; ")
        }
        // ANCHOR_END: key_share
        0x0005 => {
            // CertificateStatusRequest (RFC 6066 section 8): a type, then for OCSP a list of
            // responder IDs and request extensions, both usually empty.
            let kind = data.u8("status_request")?;
            data.vec16("status_request")?;
            data.vec16("status_request")?;
            match kind {
                1 => "OCSP: asks the server to staple its certificate's status".into(),
                other => format!("status type {other}"),
            }
        }
        0x0015 => {
            let n = data.take(data.remaining(), "padding")?.len();
            format!("{n} zero bytes, to make the whole message a size middleboxes pass")
        }
        0x0016 => "empty: encrypt-then-MAC for CBC suites (TLS 1.2)".into(),
        0x0017 => "empty: extended master secret (TLS 1.2, RFC 7627)".into(),
        0x0023 => match data.remaining() {
            0 => "empty: asks for a TLS 1.2 session ticket".into(),
            n => format!("a {n}-byte session ticket to resume"),
        },
        0x0031 => "empty: will accept a certificate request after the handshake".into(),
        0x001c => format!(
            "{} bytes per record at most",
            data.u16("record_size_limit")?
        ),
        0xff01 => match data.vec8("renegotiation_info")?.remaining() {
            0 => "empty: a first handshake, not a renegotiation".into(),
            n => format!("{n} bytes"),
        },
        _ => {
            let n = data.take(data.remaining(), "an extension's data")?.len();
            format!("{n} bytes")
        }
    })
}
