//! The binary protocol of prepared statements, as far as the edge rewrites it: the values
//! of a binary result row and of a `COM_STMT_EXECUTE`'s parameters, walked by column or
//! parameter type, so that string values naming the database are translated (rows:
//! physical name to logical; parameters of metadata statements: logical to physical).

use crate::protocol::{Reader, put_lenenc_bytes};

/// How a binary value of a column type is laid out.
enum Layout {
    Fixed(usize),
    /// One length byte, then that many bytes (dates and times).
    Short,
    /// A length-encoded string.
    String,
}

fn layout(column_type: u8) -> Layout {
    match column_type {
        6 => Layout::Fixed(0),             // NULL
        1 => Layout::Fixed(1),             // TINY
        2 | 13 => Layout::Fixed(2),        // SHORT, YEAR
        3 | 9 | 4 => Layout::Fixed(4),     // LONG, INT24, FLOAT
        8 | 5 => Layout::Fixed(8),         // LONGLONG, DOUBLE
        7 | 10 | 11 | 12 => Layout::Short, // TIMESTAMP, DATE, TIME, DATETIME
        _ => Layout::String,
    }
}

/// The column type of a column definition packet (`None` when malformed).
pub fn column_type(definition: &[u8]) -> Option<u8> {
    let mut reader = Reader(definition);
    for _ in 0..6 {
        reader.lenenc_bytes()?;
    }
    reader.lenenc_int()?; // length of the fixed fields (0x0c)
    reader.u16()?; // character set
    reader.u32()?; // column length
    reader.u8()
}

/// A binary row with `map` applied to its string values; `None` when no value changed
/// (or the row does not parse).
pub fn rewrite_row(
    payload: &[u8],
    types: &[u8],
    map: impl Fn(&[u8]) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let bitmap_len = (types.len() + 7 + 2) / 8;
    let header = payload.get(..1 + bitmap_len)?;
    let bitmap = &header[1..];
    let mut reader = Reader(&payload[1 + bitmap_len..]);
    let mut out = header.to_vec();
    let mut changed = false;
    for (index, column_type) in types.iter().enumerate() {
        let bit = index + 2;
        if bitmap[bit / 8] & (1 << (bit % 8)) != 0 {
            continue;
        }
        copy_value(&mut reader, *column_type, &mut out, &map, &mut changed)?;
    }
    if !reader.is_empty() {
        return None;
    }
    changed.then_some(out)
}

/// A `COM_STMT_EXECUTE` (command byte included) with `map` applied to its string
/// parameters. `types` are the parameter types the client bound (with this packet or an
/// earlier one); `None` when nothing changed or the packet does not parse. The types the
/// packet binds, if any, are returned too.
pub fn rewrite_execute(
    payload: &[u8],
    params: usize,
    known_types: Option<&[u8]>,
    map: impl Fn(&[u8]) -> Option<Vec<u8>>,
) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    /// (the rewritten packet, the parameter types it binds)
    type Rewritten = (Option<Vec<u8>>, Option<Vec<u8>>);
    let parse = || -> Option<Rewritten> {
        if params == 0 {
            return Some((None, None));
        }
        // command, statement id, flags, iteration count
        let fixed = 1 + 4 + 1 + 4;
        let bitmap_len = params.div_ceil(8);
        let bitmap = payload.get(fixed..fixed + bitmap_len)?;
        let bound_flag = *payload.get(fixed + bitmap_len)?;
        let mut at = fixed + bitmap_len + 1;
        let bound: Option<Vec<u8>> = if bound_flag == 1 {
            let raw = payload.get(at..at + 2 * params)?;
            at += 2 * params;
            // The type's low byte; the high byte holds the unsigned flag.
            Some(raw.chunks(2).map(|pair| pair[0]).collect())
        } else {
            None
        };
        let types = bound.as_deref().or(known_types)?;
        let mut reader = Reader(&payload[at..]);
        let mut out = payload[..at].to_vec();
        let mut changed = false;
        for (index, column_type) in types.iter().enumerate() {
            if bitmap[index / 8] & (1 << (index % 8)) != 0 {
                continue;
            }
            copy_value(&mut reader, *column_type, &mut out, &map, &mut changed)?;
        }
        out.extend_from_slice(reader.rest());
        Some((changed.then_some(out), bound))
    };
    parse().unwrap_or((None, None))
}

fn copy_value(
    reader: &mut Reader<'_>,
    column_type: u8,
    out: &mut Vec<u8>,
    map: &impl Fn(&[u8]) -> Option<Vec<u8>>,
    changed: &mut bool,
) -> Option<()> {
    match layout(column_type) {
        Layout::Fixed(n) => out.extend_from_slice(reader.bytes(n)?),
        Layout::Short => {
            let length = reader.u8()?;
            out.push(length);
            out.extend_from_slice(reader.bytes(length as usize)?);
        }
        Layout::String => {
            let value = reader.lenenc_bytes()?;
            match map(value) {
                Some(mapped) => {
                    *changed = true;
                    put_lenenc_bytes(out, &mapped);
                }
                None => put_lenenc_bytes(out, value),
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upper(value: &[u8]) -> Option<Vec<u8>> {
        (value == b"dbp_x").then(|| b"shop".to_vec())
    }

    #[test]
    fn string_values_of_a_binary_row_are_mapped() {
        // Columns: LONG, VAR_STRING, DATE (null), VAR_STRING.
        let types = [3u8, 253, 10, 253];
        let mut row = vec![0x00, 0b0001_0000]; // column 2 (bit 4) is NULL
        row.extend_from_slice(&7u32.to_le_bytes());
        put_lenenc_bytes(&mut row, b"dbp_x");
        put_lenenc_bytes(&mut row, b"items");
        let mut expected = vec![0x00, 0b0001_0000];
        expected.extend_from_slice(&7u32.to_le_bytes());
        put_lenenc_bytes(&mut expected, b"shop");
        put_lenenc_bytes(&mut expected, b"items");
        assert_eq!(rewrite_row(&row, &types, upper), Some(expected));
        assert_eq!(rewrite_row(&row[..5], &types, upper), None);
    }

    #[test]
    fn string_parameters_of_an_execute_are_mapped() {
        let mut packet = vec![0x17];
        packet.extend_from_slice(&1u32.to_le_bytes());
        packet.push(0);
        packet.extend_from_slice(&1u32.to_le_bytes());
        packet.push(0); // null bitmap of two parameters
        packet.push(1); // types bound
        packet.extend_from_slice(&[253, 0, 8, 0]);
        let values_at = packet.len();
        put_lenenc_bytes(&mut packet, b"dbp_x");
        packet.extend_from_slice(&9u64.to_le_bytes());
        let (rewritten, bound) = rewrite_execute(&packet, 2, None, upper);
        assert_eq!(bound, Some(vec![253, 8]));
        let rewritten = rewritten.unwrap();
        let mut expected = packet[..values_at].to_vec();
        put_lenenc_bytes(&mut expected, b"shop");
        expected.extend_from_slice(&9u64.to_le_bytes());
        assert_eq!(rewritten, expected);
        // Without types in the packet, the remembered ones apply.
        let mut unbound = packet[..values_at - 5].to_vec();
        unbound.push(0);
        put_lenenc_bytes(&mut unbound, b"other");
        unbound.extend_from_slice(&9u64.to_le_bytes());
        assert_eq!(
            rewrite_execute(&unbound, 2, Some(&[253, 8]), upper),
            (None, None)
        );
    }
}
