//! Packets over a byte stream: a 3-byte length, a sequence number, the payload; a payload
//! of 16 MiB − 1 or more continues in the next packet. Reads are buffered (a packet is a
//! slice of the buffer, not a copy per read), writes are gathered and flushed once per
//! response.

use std::future::Future;
use std::io;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::protocol::MAX_PAYLOAD;

/// A stream the edge speaks the protocol on (TCP, or TLS over TCP).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Bytes read at once; the buffer starts small (idle sessions cost little) and grows
/// for large packets.
const INITIAL_READ: usize = 4 << 10;
/// Gathered writes are flushed past this size even before the response ends.
const FLUSH_AT: usize = 64 << 10;

/// One packet: its sequence number and its whole payload (continuations joined).
#[derive(Debug, Clone)]
pub struct Packet {
    pub seq: u8,
    pub payload: Bytes,
}

/// A protocol stream.
pub struct PacketStream {
    io: Box<dyn Io>,
    read: BytesMut,
    write: Vec<u8>,
}

impl PacketStream {
    pub fn new(io: Box<dyn Io>) -> Self {
        PacketStream {
            io,
            read: BytesMut::new(),
            write: Vec::new(),
        }
    }

    /// The stream itself (before a TLS upgrade), with bytes already read but not yet
    /// consumed (a client may send its TLS hello right behind its SSL request) put back
    /// in front.
    pub fn into_inner(self) -> Box<dyn Io> {
        if self.read.is_empty() {
            return self.io;
        }
        Box::new(Rewound {
            prefix: self.read.freeze(),
            inner: self.io,
        })
    }

    /// The next packet, continuations joined. `Ok(None)` at a clean end of stream.
    pub async fn read_packet(&mut self) -> io::Result<Option<Packet>> {
        let Some((seq, mut length)) = self.read_header().await? else {
            return Ok(None);
        };
        self.fill(length).await?;
        let first = self.read.split_to(length).freeze();
        if length < MAX_PAYLOAD {
            return Ok(Some(Packet {
                seq,
                payload: first,
            }));
        }
        let mut joined = BytesMut::from(&first[..]);
        let mut last = seq;
        while length == MAX_PAYLOAD {
            let (next_seq, next_length) = self
                .read_header()
                .await?
                .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
            last = next_seq;
            length = next_length;
            self.fill(length).await?;
            joined.extend_from_slice(&self.read.split_to(length));
        }
        Ok(Some(Packet {
            seq: last,
            payload: joined.freeze(),
        }))
    }

    async fn read_header(&mut self) -> io::Result<Option<(u8, usize)>> {
        if self.read.is_empty() && self.read_more().await? == 0 {
            return Ok(None);
        }
        self.fill(4).await?;
        let header = self.read.split_to(4);
        let length = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
        Ok(Some((header[3], length)))
    }

    /// Reads until at least `wanted` bytes are buffered.
    async fn fill(&mut self, wanted: usize) -> io::Result<()> {
        while self.read.len() < wanted {
            self.read
                .reserve((wanted - self.read.len()).max(INITIAL_READ));
            if self.read_more().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }

    async fn read_more(&mut self) -> io::Result<usize> {
        if self.read.capacity() == self.read.len() {
            self.read.reserve(INITIAL_READ);
        }
        self.io.read_buf(&mut self.read).await
    }

    /// Queues a packet (split when long); the sequence number of the last part is
    /// returned. Flushes on its own once much is gathered.
    pub async fn write_packet(&mut self, seq: u8, payload: &[u8]) -> io::Result<u8> {
        let mut seq = seq;
        let mut chunks = payload.chunks(MAX_PAYLOAD).peekable();
        loop {
            let chunk = chunks.next().unwrap_or_default();
            self.write
                .extend_from_slice(&(chunk.len() as u32).to_le_bytes()[..3]);
            self.write.push(seq);
            self.write.extend_from_slice(chunk);
            // A payload of a multiple of the maximum ends with an empty packet.
            if chunks.peek().is_none() && chunk.len() < MAX_PAYLOAD {
                break;
            }
            seq = seq.wrapping_add(1);
        }
        if self.write.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(seq)
    }

    /// Queues a packet whose payload is `head` then `body` (a command byte and its
    /// statement) without joining them first.
    pub async fn write_command(&mut self, seq: u8, head: &[u8], body: &[u8]) -> io::Result<u8> {
        if head.len() + body.len() < MAX_PAYLOAD {
            let length = (head.len() + body.len()) as u32;
            self.write.extend_from_slice(&length.to_le_bytes()[..3]);
            self.write.push(seq);
            self.write.extend_from_slice(head);
            self.write.extend_from_slice(body);
            if self.write.len() >= FLUSH_AT {
                self.flush().await?;
            }
            return Ok(seq);
        }
        let mut joined = Vec::with_capacity(head.len() + body.len());
        joined.extend_from_slice(head);
        joined.extend_from_slice(body);
        self.write_packet(seq, &joined).await
    }

    /// Sends what was queued.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.write.is_empty() {
            self.io.write_all(&self.write).await?;
            self.write.clear();
            if self.write.capacity() > FLUSH_AT * 4 {
                self.write.shrink_to(FLUSH_AT);
            }
        }
        self.io.flush().await
    }

    /// Whether an idle stream is unusable: closed by the peer, failed, or holding bytes
    /// nobody asked for (MariaDB's "connection was killed" error). One non-blocking read,
    /// so a pooled connection is checked before each use at the cost of one syscall.
    pub fn is_stale(&mut self) -> bool {
        if !self.read.is_empty() {
            return true;
        }
        self.read.reserve(64);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        let read = std::pin::pin!(self.io.read_buf(&mut self.read));
        read.poll(&mut context).is_ready()
    }

    /// Gives back memory a large packet left behind (idle sessions stay small).
    pub fn shrink(&mut self) {
        if self.read.is_empty() && self.read.capacity() > INITIAL_READ * 4 {
            self.read = BytesMut::new();
        }
    }

    pub async fn shutdown(&mut self) {
        let _ = self.flush().await;
        let _ = self.io.shutdown().await;
    }
}

/// A stream that first yields bytes read from it earlier.
struct Rewound {
    prefix: Bytes,
    inner: Box<dyn Io>,
}

impl AsyncRead for Rewound {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let head = self.prefix.split_to(n);
            buf.put_slice(&head);
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewound {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn packets_round_trip_whatever_their_size() {
        let (a, b) = tokio::io::duplex(1 << 20);
        let mut writer = PacketStream::new(Box::new(a));
        let mut reader = PacketStream::new(Box::new(b));
        let big = vec![7u8; MAX_PAYLOAD + 3];
        let exact = vec![9u8; MAX_PAYLOAD];
        let task = tokio::spawn(async move {
            writer.write_packet(0, b"hello").await.unwrap();
            let last = writer.write_packet(1, &big).await.unwrap();
            assert_eq!(last, 2);
            let last = writer.write_packet(3, &exact).await.unwrap();
            assert_eq!(last, 4);
            writer.write_packet(5, b"").await.unwrap();
            writer.flush().await.unwrap();
        });
        let first = reader.read_packet().await.unwrap().unwrap();
        assert_eq!((first.seq, &first.payload[..]), (0, &b"hello"[..]));
        let second = reader.read_packet().await.unwrap().unwrap();
        assert_eq!((second.seq, second.payload.len()), (2, MAX_PAYLOAD + 3));
        let third = reader.read_packet().await.unwrap().unwrap();
        assert_eq!((third.seq, third.payload.len()), (4, MAX_PAYLOAD));
        let fourth = reader.read_packet().await.unwrap().unwrap();
        assert_eq!((fourth.seq, fourth.payload.len()), (5, 0));
        task.await.unwrap();
        assert!(reader.read_packet().await.unwrap().is_none());
    }
}
