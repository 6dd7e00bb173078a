//! Compressed, checksummed object streams.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::ZstdDecoder;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use super::store::{BackupStore, ObjectWriter};
use super::{BackupError, ManifestObject};

/// zstd level 1: the fastest standard level (what `mariadb-dump | zstd -1` uses); on
/// SQL text it compresses nearly as well as 3 at about twice the speed, and a backup
/// must keep up with the dump on a busy machine.
const ZSTD_LEVEL: i32 = 1;
/// Read buffer for stored objects.
const READ_BUFFER: usize = 256 << 10;

/// Hashes and counts what passes through to the object writer.
struct HashWriter {
    inner: Box<dyn ObjectWriter>,
    hasher: Sha256,
    bytes: u64,
}

impl AsyncWrite for HashWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(written)) => {
                this.hasher.update(&buf[..written]);
                this.bytes += written as u64;
                Poll::Ready(Ok(written))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A zstd-compressed object being written; [`ObjectSink::finish`] commits it.
///
/// The object is a series of independent zstd frames of at least [`FRAME_INPUT`] bytes of
/// input each, compressed in one call from the caller's buffer (a streaming encoder first
/// copies its input into a ring buffer and, once that wraps, compresses through zstd's
/// slower external-dictionary path: ~40 % of a MariaDB dump's compression time in a
/// profile). Level 1's window is 512 KiB, so the frames cost almost no ratio.
pub(crate) struct ObjectSink {
    key: String,
    writer: HashWriter,
    compressor: zstd::bulk::Compressor<'static>,
    /// Input shorter than a frame, waiting for more.
    pending: Vec<u8>,
    /// The compressed frame being written out (reused).
    output: Vec<u8>,
    uncompressed: u64,
    frames: u64,
}

/// The least input a frame holds (but the last).
const FRAME_INPUT: usize = 1 << 20;

impl ObjectSink {
    pub(crate) async fn create(store: &dyn BackupStore, key: String) -> Result<Self, BackupError> {
        let inner = store.put(&key).await?;
        let writer = HashWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        };
        let failed = |error| BackupError::io(format!("compress object `{key}`"), error);
        let mut compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(failed)?;
        compressor
            .set_parameter(zstd::stream::raw::CParameter::ChecksumFlag(true))
            .map_err(failed)?;
        Ok(ObjectSink {
            key,
            writer,
            compressor,
            pending: Vec::new(),
            output: Vec::new(),
            uncompressed: 0,
            frames: 0,
        })
    }

    pub(crate) async fn write(&mut self, bytes: &[u8]) -> Result<(), BackupError> {
        self.uncompressed += bytes.len() as u64;
        if self.pending.is_empty() && bytes.len() >= FRAME_INPUT {
            return self.write_frame(bytes).await;
        }
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= FRAME_INPUT {
            let pending = std::mem::take(&mut self.pending);
            self.write_frame(&pending).await?;
            self.pending = pending;
            self.pending.clear();
        }
        Ok(())
    }

    /// Compresses `input` into one frame and writes it out.
    async fn write_frame(&mut self, input: &[u8]) -> Result<(), BackupError> {
        let failed = |error| BackupError::io(format!("write object `{}`", self.key), error);
        self.output.clear();
        self.output
            .reserve(zstd::zstd_safe::compress_bound(input.len()));
        self.compressor
            .compress_to_buffer(input, &mut self.output)
            .map_err(failed)?;
        self.writer.write_all(&self.output).await.map_err(failed)?;
        self.frames += 1;
        Ok(())
    }

    /// Ends the stream, commits the object and describes it for the manifest.
    pub(crate) async fn finish(mut self) -> Result<ManifestObject, BackupError> {
        // An empty object is still one (empty) frame: a reader expects a frame header.
        if !self.pending.is_empty() || self.frames == 0 {
            let pending = std::mem::take(&mut self.pending);
            self.write_frame(&pending).await?;
        }
        self.writer
            .shutdown()
            .await
            .map_err(|error| BackupError::io(format!("write object `{}`", self.key), error))?;
        let sha256 = hex::encode(self.writer.hasher.finalize());
        self.writer.inner.commit().await?;
        Ok(ManifestObject {
            key: self.key,
            sha256,
            size: self.writer.bytes,
            uncompressed_size: self.uncompressed,
        })
    }
}

/// Buffers queued for a [`SinkTask`]: bounds its memory to a few statements.
const PIPELINE_DEPTH: usize = 4;

/// An [`ObjectSink`] on its own task: the producer appends rows to [`SinkTask::buffer`]
/// and goes on producing while the previous buffers are compressed and written, so a dump
/// uses two cores instead of one. Dropped without [`SinkTask::finish`] (the dump failed),
/// the object is never committed.
pub(crate) struct SinkTask {
    sender: tokio::sync::mpsc::Sender<Option<Vec<u8>>>,
    task: tokio::task::JoinHandle<Result<ManifestObject, BackupError>>,
    buffer: Vec<u8>,
}

/// A buffer with room for a frame's input and the row that fills it.
fn row_buffer() -> Vec<u8> {
    Vec::with_capacity(FRAME_INPUT + (64 << 10))
}

impl SinkTask {
    pub(crate) fn spawn(mut sink: ObjectSink) -> Self {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Option<Vec<u8>>>(PIPELINE_DEPTH);
        let task = tokio::spawn(async move {
            while let Some(message) = receiver.recv().await {
                match message {
                    Some(buffer) => sink.write(&buffer).await?,
                    None => return sink.finish().await,
                }
            }
            Err(BackupError::io(
                format!("write object `{}`", sink.key),
                std::io::Error::other("the dump stopped before the end"),
            ))
        });
        SinkTask {
            sender,
            task,
            buffer: row_buffer(),
        }
    }

    /// Where the producer appends whole rows; call [`SinkTask::rows_added`] after each.
    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buffer
    }

    /// Hands the buffer over once it holds a frame's input; waits while
    /// [`PIPELINE_DEPTH`] are queued.
    pub(crate) async fn rows_added(&mut self) -> Result<(), BackupError> {
        if self.buffer.len() < FRAME_INPUT {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buffer, row_buffer());
        self.write(full).await
    }

    async fn write(&mut self, buffer: Vec<u8>) -> Result<(), BackupError> {
        if self.sender.send(Some(buffer)).await.is_ok() {
            return Ok(());
        }
        // The writer stopped early: its result says why.
        let (sender, _) = tokio::sync::mpsc::channel(1);
        let stopped = std::mem::replace(&mut self.sender, sender);
        drop(stopped);
        match (&mut self.task).await {
            Ok(Err(error)) => Err(error),
            Ok(Ok(_)) => Err(BackupError::io(
                "write object",
                std::io::Error::other("the writer ended early"),
            )),
            Err(error) => Err(BackupError::io(
                "write object",
                std::io::Error::other(error),
            )),
        }
    }

    /// Hands over the rows left, ends the stream, waits for the writer, commits the object.
    pub(crate) async fn finish(mut self) -> Result<ManifestObject, BackupError> {
        if !self.buffer.is_empty() {
            let rest = std::mem::take(&mut self.buffer);
            self.write(rest).await?;
        }
        // A closed channel means the writer failed; its result carries the error.
        let _ = self.sender.send(None).await;
        drop(self.sender);
        self.task
            .await
            .map_err(|error| BackupError::io("write object", std::io::Error::other(error)))?
    }
}

/// The decompressed bytes of an object (verify it first with [`verify_object`]).
pub(crate) async fn open_decompressed(
    store: &dyn BackupStore,
    key: &str,
) -> Result<impl AsyncRead + Send + Unpin + use<>, BackupError> {
    let reader = store.get(key).await?;
    let mut decoder = ZstdDecoder::new(BufReader::with_capacity(READ_BUFFER, reader));
    decoder.multiple_members(true);
    Ok(decoder)
}

/// Hashes and counts what is read through it.
struct HashReader {
    inner: super::store::ObjectReader,
    hasher: Sha256,
    bytes: u64,
}

impl AsyncRead for HashReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let read = &buf.filled()[before..];
            this.hasher.update(read);
            this.bytes += read.len() as u64;
        }
        polled
    }
}

/// The decompressed bytes of an object, checked against its manifest entry in the same
/// read: call [`VerifiedReader::check`] once it has been read (to the end, or until a
/// decompression error).
pub(crate) struct VerifiedReader {
    decoder: ZstdDecoder<BufReader<HashReader>>,
    object: ManifestObject,
}

impl AsyncRead for VerifiedReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.decoder).poll_read(cx, buf)
    }
}

impl VerifiedReader {
    /// Whether the stored bytes are the object's (size and sha256). Reads what the
    /// decompression left unread, so a corrupted object reports a checksum mismatch
    /// rather than the decompression error it may cause first.
    pub(crate) async fn check(self) -> Result<(), BackupError> {
        let mut hashed = self.decoder.into_inner().into_inner();
        tokio::io::copy(&mut hashed, &mut tokio::io::sink())
            .await
            .map_err(|error| {
                BackupError::io(format!("read object `{}`", self.object.key), error)
            })?;
        let actual = hex::encode(hashed.hasher.finalize());
        let object = self.object;
        if actual != object.sha256 || hashed.bytes != object.size {
            return Err(BackupError::Checksum {
                key: object.key,
                expected: object.sha256,
                actual: format!(
                    "{actual} ({} bytes, manifest says {})",
                    hashed.bytes, object.size
                ),
            });
        }
        Ok(())
    }
}

/// Opens `object` for a read that decompresses and verifies it at once.
pub(crate) async fn open_verified(
    store: &dyn BackupStore,
    object: &ManifestObject,
) -> Result<VerifiedReader, BackupError> {
    let reader = HashReader {
        inner: store.get(&object.key).await?,
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut decoder = ZstdDecoder::new(BufReader::with_capacity(READ_BUFFER, reader));
    decoder.multiple_members(true);
    Ok(VerifiedReader {
        decoder,
        object: object.clone(),
    })
}

/// Reads the whole object and checks its size and sha256.
pub(crate) async fn verify_object(
    store: &dyn BackupStore,
    object: &ManifestObject,
) -> Result<(), BackupError> {
    let mut reader = store.get(&object.key).await?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; READ_BUFFER];
    loop {
        let read = reader
            .read(&mut buffer)
            .await
            .map_err(|error| BackupError::io(format!("read object `{}`", object.key), error))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    let actual = hex::encode(hasher.finalize());
    if actual != object.sha256 || size != object.size {
        return Err(BackupError::Checksum {
            key: object.key.clone(),
            expected: object.sha256.clone(),
            actual: format!("{actual} ({size} bytes, manifest says {})", object.size),
        });
    }
    Ok(())
}

type SinkRequest = (
    String,
    tokio::sync::oneshot::Sender<Result<ObjectSink, BackupError>>,
);

/// Creates [`ObjectSink`]s for spawned tasks, which cannot borrow the store: the
/// requests are served by [`serve_sinks`] on the task that has it.
#[derive(Clone)]
pub(crate) struct SinkBroker {
    sender: tokio::sync::mpsc::Sender<SinkRequest>,
}

impl SinkBroker {
    pub(crate) async fn create(&self, key: String) -> Result<ObjectSink, BackupError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let gone = || BackupError::io("create object", std::io::Error::other("the backup stopped"));
        self.sender.send((key, reply)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// Runs `work` with a [`SinkBroker`] whose requests are served from `store` meanwhile.
pub(crate) async fn serve_sinks<F, T>(
    store: &dyn BackupStore,
    work: impl FnOnce(SinkBroker) -> F,
) -> T
where
    F: std::future::Future<Output = T>,
{
    let (sender, mut requests) = tokio::sync::mpsc::channel::<SinkRequest>(4);
    let work = work(SinkBroker { sender });
    tokio::pin!(work);
    loop {
        tokio::select! {
            result = &mut work => return result,
            Some((key, reply)) = requests.recv() => {
                let _ = reply.send(ObjectSink::create(store, key).await);
            }
        }
    }
}
