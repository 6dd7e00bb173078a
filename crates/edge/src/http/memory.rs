//! The in-memory wire between an HTTP request and the edge session it drives: two byte
//! queues, one each way, read and written without ever waiting. The request writes a
//! command in full, runs the session until it has answered, then reads the answer; so a
//! read finding its queue empty is the end of what there is (end of stream), and no
//! wake-up ever crosses from one side to the other (a pipe with wakers sent the request's
//! task through the scheduler, and often to the other worker thread, at every packet).
//!
//! An answer is held whole until it is read, as the HTTP response that carries it is; the
//! OLTP row limit bounds it.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[derive(Default)]
struct Queues {
    /// From the request to the session (commands).
    commands: BytesMut,
    /// From the session to the request (answers).
    answers: BytesMut,
}

/// One side of the wire.
pub struct End {
    queues: Arc<Mutex<Queues>>,
    /// The session's side reads commands and writes answers; the request's the reverse.
    session_side: bool,
}

/// Both sides: the request's, and the session's.
pub fn wire() -> (End, End) {
    let queues = Arc::new(Mutex::new(Queues::default()));
    (
        End {
            queues: queues.clone(),
            session_side: false,
        },
        End {
            queues,
            session_side: true,
        },
    )
}

impl End {
    fn with<T>(&self, f: impl FnOnce(&mut BytesMut, &mut BytesMut) -> T) -> T {
        let mut queues = self.queues.lock().expect("wire lock");
        let Queues { commands, answers } = &mut *queues;
        if self.session_side {
            f(commands, answers)
        } else {
            f(answers, commands)
        }
    }
}

impl AsyncRead for End {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.with(|incoming, _| {
            let n = incoming.len().min(buf.remaining());
            buf.put_slice(&incoming[..n]);
            incoming.advance(n);
        });
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for End {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.with(|_, outgoing| outgoing.extend_from_slice(data));
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn each_side_reads_what_the_other_wrote_and_then_the_end() {
        let (mut request, mut session) = wire();
        request.write_all(b"command").await.unwrap();
        let mut read = Vec::new();
        session.read_to_end(&mut read).await.unwrap();
        assert_eq!(read, b"command");
        session.write_all(b"answer").await.unwrap();
        let mut read = Vec::new();
        request.read_to_end(&mut read).await.unwrap();
        assert_eq!(read, b"answer");
    }
}
