use super::{
    LengthEncoded, MAX_PAYLOAD, READ_SIZE, TextRow, WireResult, WireSession, is_eof, server_error,
};
use tokio::io::AsyncWriteExt;

/// The packets of `payload` with sequence numbers from `sequence`.
fn packets(payload: &[u8], sequence: &mut u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunks: Vec<&[u8]> = payload.chunks(MAX_PAYLOAD).collect();
    if payload.len().is_multiple_of(MAX_PAYLOAD) {
        chunks.push(&[]);
    }
    for chunk in chunks {
        out.extend_from_slice(&(chunk.len() as u32).to_le_bytes()[..3]);
        out.push(*sequence);
        *sequence = sequence.wrapping_add(1);
        out.extend_from_slice(chunk);
    }
    out
}

fn session_over(client: tokio::io::DuplexStream) -> WireSession {
    WireSession {
        io: Box::new(client),
        buffer: Vec::with_capacity(READ_SIZE),
        start: 0,
        joined: Vec::new(),
        sequence: 0,
    }
}

#[tokio::test]
async fn a_result_streams_rows_split_over_packets_and_reads() {
    let (client, mut server) = tokio::io::duplex(64 << 10);
    let mut session = session_over(client);
    // A row longer than one packet (a 17 MB value), then a short one.
    let big = vec![b'z'; MAX_PAYLOAD + 10];
    // (Its length takes 8 bytes after 0xfe: the row starts like an EOF packet.)
    let mut long_row = vec![0xfe];
    long_row.extend_from_slice(&(big.len() as u64).to_le_bytes());
    long_row.extend_from_slice(&big);
    let writer = tokio::spawn(async move {
        // The query (`COM_QUERY`, sequence 0) first.
        let mut query = [0u8; 5 + 8];
        tokio::io::AsyncReadExt::read_exact(&mut server, &mut query)
            .await
            .unwrap();
        assert_eq!(&query[4..], b"\x03SELECT 1");
        let mut sequence = 1;
        let mut reply = Vec::new();
        for payload in [&[1][..], b"\x03def\0\0\0\x011\0", &[0xfe, 0, 0, 2, 0]] {
            reply.extend(packets(payload, &mut sequence));
        }
        reply.extend(packets(&long_row, &mut sequence));
        reply.extend(packets(&[1, b'7'], &mut sequence));
        reply.extend(packets(&[0xfe, 0, 0, 2, 0], &mut sequence));
        server.write_all(&reply).await.unwrap();
    });
    let mut rows = session.query_stream("SELECT 1").await.unwrap();
    let first = rows.next().await.unwrap().expect("a row");
    let fields: Vec<Option<&[u8]>> = first.fields().collect();
    assert_eq!(fields, vec![Some(&big[..])]);
    let second = rows.next().await.unwrap().expect("a row");
    assert_eq!(second.fields().collect::<Vec<_>>(), vec![Some(&b"7"[..])]);
    assert!(rows.next().await.unwrap().is_none());
    writer.await.unwrap();
}

#[test]
fn row_fields_are_read_in_place() {
    let mut packet = vec![3, b'a', b'b', b'c', 0xfb, 0];
    let long = vec![b'x'; 300];
    packet.extend_from_slice(&[0xfc, 0x2c, 0x01]);
    packet.extend_from_slice(&long);
    let fields: Vec<Option<&[u8]>> = TextRow(&packet).fields().collect();
    assert_eq!(
        fields,
        vec![Some(&b"abc"[..]), None, Some(&b""[..]), Some(&long[..])]
    );
    assert_eq!(TextRow(&packet).field_count(), Some(4));
    // A truncated field ends the row instead of reading past it, and makes it invalid.
    assert_eq!(TextRow(&[5, b'a']).fields().count(), 0);
    assert_eq!(TextRow(&[5, b'a']).field_count(), None);
    assert_eq!(TextRow(&[1, b'a', 0xff]).field_count(), None);
}

/// A session over an in-memory pipe whose server side sends `reply` to any query.
async fn answering(reply: Vec<u8>) -> WireResult<Vec<Vec<Option<Vec<u8>>>>> {
    let (client, mut server) = tokio::io::duplex(64 << 10);
    let mut session = session_over(client);
    let writer = tokio::spawn(async move {
        let _ = server.write_all(&reply).await;
        // Closing the pipe ends what the client can read.
    });
    let rows = session.query_rows("SELECT 1").await;
    writer.await.unwrap();
    rows
}

#[tokio::test]
async fn a_row_missing_a_field_is_an_error() {
    let mut sequence = 1;
    let mut reply = Vec::new();
    for payload in [
        &[2][..],
        b"\x03def\0\0\0\x011\0",
        b"\x03def\0\0\0\x012\0",
        &[0xfe, 0, 0, 2, 0],
        &[1, b'7'],
        &[0xfe, 0, 0, 2, 0],
    ] {
        reply.extend(packets(payload, &mut sequence));
    }
    let error = answering(reply).await.unwrap_err();
    assert!(
        error.to_string().contains("one field per column"),
        "{error}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// The parsers of length-encoded values, rows, greetings and errors take any
    /// bytes without panicking.
    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
        let _ = LengthEncoded(&bytes).integer();
        let _ = TextRow(&bytes).fields().count();
        let _ = TextRow(&bytes).field_count();
        let _ = super::Greeting::parse(&bytes);
        let _ = server_error(&bytes);
        let _ = is_eof(&bytes);
    }

    /// A session reading any byte stream from the server ends with rows or an error:
    /// no panic, no hang (the stream ends).
    #[test]
    fn sessions_never_panic_or_hang(
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
        framed in proptest::bool::ANY,
    ) {
        // Half the cases frame the bytes as packets, so they get past the headers.
        let reply = if framed {
            let mut sequence = 1;
            bytes.chunks(17).flat_map(|c| packets(c, &mut sequence)).collect()
        } else {
            bytes
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outcome = runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), answering(reply)).await
        });
        proptest::prop_assert!(outcome.is_ok(), "the session hung");
    }
}

#[test]
fn integers_and_packets_are_recognised() {
    assert_eq!(LengthEncoded(&[0xfd, 1, 2, 3]).integer(), Some(0x030201));
    assert_eq!(
        LengthEncoded(&[0xfe, 1, 0, 0, 0, 0, 0, 0, 1]).integer(),
        Some((1 << 56) + 1)
    );
    assert!(is_eof(&[0xfe, 0, 0, 2, 0]));
    assert!(!is_eof(&[0xfe, 1, 0, 0, 0, 0, 0, 0, 0, b'x']));
    let error = server_error(b"\xff\x15\x04#28000Access denied");
    assert_eq!(
        error.to_string(),
        "server error 1045 (28000): Access denied"
    );
}
