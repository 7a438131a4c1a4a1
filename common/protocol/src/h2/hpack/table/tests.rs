//! Tests of the parent module: the index space, sizes and eviction of section 4, and the
//! encoder's search.

use super::*;

fn entry(name: &'static str, value: &'static str) -> (Bytes, Bytes) {
    (
        Bytes::from_static(name.as_bytes()),
        Bytes::from_static(value.as_bytes()),
    )
}

fn insert(table: &mut Table, name: &'static str, value: &'static str) {
    let (name, value) = entry(name, value);
    table.insert(name, value);
}

#[test]
fn static_name_ranges_match_the_table() {
    for (position, &(name, _)) in STATIC_TABLE.iter().enumerate() {
        let index = position + 1;
        let range = static_name_range(name).expect("every static name has a range");
        assert!(range.contains(&index), "{index} outside {range:?}");
        for other in range.clone() {
            assert_eq!(STATIC_TABLE[other - 1].0, name);
        }
        // The range is every entry with the name: none just before or after it.
        assert!(range.start == 1 || STATIC_TABLE[range.start - 2].0 != name);
        assert!(range.end > STATIC_LEN || STATIC_TABLE[range.end - 1].0 != name);
    }
    assert_eq!(static_name_range(b"x-custom"), None);
    assert_eq!(
        static_name_range(b"Accept"),
        None,
        "names are matched as sent"
    );
}

#[test]
fn static_entries_by_index() {
    let table = Table::new(4096);
    assert_eq!(table.get(1), Ok(entry(":authority", "")));
    assert_eq!(table.get(2), Ok(entry(":method", "GET")));
    assert_eq!(table.get(16), Ok(entry("accept-encoding", "gzip, deflate")));
    assert_eq!(table.get(61), Ok(entry("www-authenticate", "")));
}

#[test]
fn index_zero_and_indexes_past_the_tables_are_errors() {
    let mut table = Table::new(4096);
    assert_eq!(table.get(0), Err(DecodeError::IndexZero));
    assert_eq!(
        table.get(62),
        Err(DecodeError::IndexOutOfRange {
            index: 62,
            table_len: 61
        })
    );
    insert(&mut table, "a", "b");
    assert_eq!(table.get(62), Ok(entry("a", "b")));
    assert_eq!(
        table.get(63),
        Err(DecodeError::IndexOutOfRange {
            index: 63,
            table_len: 62
        })
    );
    assert!(table.get(usize::MAX).is_err());
}

#[test]
fn newest_entries_have_the_lowest_dynamic_index() {
    let mut table = Table::new(4096);
    insert(&mut table, "first", "1");
    insert(&mut table, "second", "2");
    assert_eq!(table.get(62), Ok(entry("second", "2")));
    assert_eq!(table.get(63), Ok(entry("first", "1")));
    assert_eq!(table.size(), 5 + 1 + 32 + 6 + 1 + 32);
    assert_eq!(table.len(), 2);
}

#[test]
fn insertion_evicts_the_oldest_to_make_room() {
    // Each entry is 1 + 1 + 32 = 34: three fit in 102, a fourth pushes out the first.
    let mut table = Table::new(102);
    insert(&mut table, "a", "1");
    insert(&mut table, "b", "2");
    insert(&mut table, "c", "3");
    assert_eq!(table.size(), 102);
    insert(&mut table, "d", "4");
    assert_eq!(table.size(), 102);
    let names: Vec<&[u8]> = table.entries().map(|(name, _)| name).collect();
    assert_eq!(names, [&b"d"[..], b"c", b"b"]);
}

#[test]
fn an_entry_larger_than_the_table_empties_it() {
    let mut table = Table::new(100);
    insert(&mut table, "a", "1");
    insert(
        &mut table,
        "a-rather-long-name",
        "and-a-value-long-enough-to-pass-the-maximum-of-a-hundred",
    );
    assert!(table.is_empty());
    assert_eq!(table.size(), 0);
    // An entry exactly the maximum size fits.
    insert(
        &mut table,
        "0123456789012345678901234567890",
        "0123456789012345678901234567890123456",
    );
    assert_eq!(table.size(), 100);
    assert_eq!(table.len(), 1);
}

#[test]
fn lowering_the_maximum_evicts_and_zero_clears() {
    let mut table = Table::new(4096);
    insert(&mut table, "a", "1");
    insert(&mut table, "b", "2");
    table.set_max_size(34);
    assert_eq!(table.len(), 1);
    assert_eq!(table.get(62), Ok(entry("b", "2")));
    table.set_max_size(0);
    assert!(table.is_empty());
    // With a maximum of 0 nothing is ever added.
    insert(&mut table, "c", "3");
    assert!(table.is_empty());
    table.set_max_size(4096);
    insert(&mut table, "c", "3");
    assert_eq!(table.len(), 1);
}

#[test]
fn find_prefers_whole_fields_then_static_names() {
    let mut table = Table::new(4096);
    assert_eq!(table.find(b":method", b"GET"), Found::Field(2));
    assert_eq!(table.find(b":method", b"POST"), Found::Field(3));
    assert_eq!(table.find(b":method", b"PUT"), Found::Name(2));
    assert_eq!(table.find(b":status", b"404"), Found::Field(13));
    assert_eq!(table.find(b"x-custom", b"1"), Found::Nothing);
    insert(&mut table, "x-custom", "1");
    insert(&mut table, ":method", "PUT");
    assert_eq!(table.find(b":method", b"PUT"), Found::Field(62));
    assert_eq!(table.find(b"x-custom", b"1"), Found::Field(63));
    assert_eq!(table.find(b"x-custom", b"2"), Found::Name(63));
    assert_eq!(table.find(b":method", b"DELETE"), Found::Name(2));
}
