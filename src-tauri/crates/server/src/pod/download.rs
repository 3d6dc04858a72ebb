//! Sending a large resource without holding it: a blocking task on a
//! pooled connection reads the vault's `ContentReader` a piece at a time
//! into a small bounded queue, and the response body takes the pieces off
//! it as the client reads.
//!
//! So a client that stops reading holds at most [`QUEUED`] pieces of
//! [`PIECE`] bytes in the pod's memory (besides the reader's one chunk), and
//! one that stays stalled for [`STALL`] is dropped, as is one that takes the
//! pieces slower than the pod's floor on a transfer's rate
//! (`custodian_core::limits::transfer`, judged on the bytes it has taken;
//! its transfer is cut short); a client that hangs up
//! drops the body, the next piece finds nobody to take it, and the task ends
//! and gives its connection back. The company's transfer turn lives in the
//! body, so it is held until hyper has taken the last piece (or dropped the
//! body: the client gone, or cut by the connection's write time-out,
//! `listen`), not merely until the last piece is queued. A damaged chunk (the reader's check
//! against its SHA-256) ends the body with an error, so the connection is
//! cut and the client sees a transfer shorter than its `Content-Length`,
//! never wrong bytes. A whole (not ranged) read is also checked against the
//! ETag: the reader is read once more past the last byte, where it compares
//! them, before the last piece is sent; a mismatch cuts the transfer the
//! same way (a ranged read is checked chunk by chunk only).

use std::io::{self, Read};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use custodian_core::limits::turns::TransferTurn;
use custodian_core::pod::ByteRange;
use custodian_core::{PodPath, Store};
use hyper::body::{Frame, SizeHint};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use super::transfer::Streaming;
use crate::error::ApiError;
use crate::limits::{PaceTimer, Waited};
use crate::state::Pod;

/// Bytes read from the vault and sent at a time.
pub(crate) const PIECE: usize = 256 * 1024;
/// Pieces waiting for a slow client at most.
pub(crate) const QUEUED: usize = 4;
/// How long a client may take no piece at all before it is dropped.
pub(crate) const STALL: Duration = Duration::from_secs(30);

/// Version `version` of `path` (`size` bytes), all of it or the part
/// `range` names, as a response body. Returns once the content is opened,
/// so a failure to open it is still an error answer, not a cut transfer.
/// The stream slot is held by the task reading the vault; the company's
/// transfer turn by the body, until hyper has
/// taken its last byte or dropped it (the client gone, or cut by the
/// connection's write time-out), not merely until the last piece is queued.
pub(super) async fn open(
    pod: &Arc<Pod>,
    path: PodPath,
    version: u64,
    range: Option<ByteRange>,
    size: u64,
    streaming: Streaming,
) -> Result<Body, ApiError> {
    let Streaming { turn, slot } = streaming;
    let len = range.map_or(size, |r| r.len());
    let (pieces, queue) = mpsc::channel(QUEUED);
    let (opened, is_open) = oneshot::channel();
    let handle = Handle::current();
    let pump = Arc::clone(pod);
    let pace = pod.limits.pace.clone();
    // Spawned, not awaited: the task outlives this request's handler and
    // ends when the last piece is taken or the client is gone.
    tokio::spawn(async move {
        let sent = pump
            .with_store(move |store| {
                let _slot = slot;
                // Timed from here, once a stream turn is free: waiting for
                // one is not the company's slowness.
                let out = Out {
                    pieces,
                    pace: pace.start(),
                    handle,
                };
                send_pieces(store, &path, version, range, opened, out)
            })
            .await;
        if sent.is_err() {
            tracing::error!("streaming a resource failed to start");
        }
    });
    match is_open.await {
        Ok(Ok(())) => Ok(Body::new(Pieces {
            queue,
            remaining: len,
            _turn: turn,
        })),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ApiError::internal()),
    }
}

/// Where the pieces go: the queue the response body takes them from, the
/// floor on how fast it must, and the runtime to wait on.
struct Out {
    pieces: mpsc::Sender<io::Result<Bytes>>,
    pace: PaceTimer,
    handle: Handle,
}

impl Out {
    /// Queues `piece` once the client has room for it; `false` when the
    /// transfer is over: the client is gone, stalled for [`STALL`], or
    /// slower than the floor (`taken` bytes so far).
    fn send(&mut self, piece: io::Result<Bytes>, taken: u64, path: &PodPath) -> bool {
        let room = self.pieces.reserve();
        match self.pace.wait(&self.handle, taken, STALL, room) {
            Waited::Done(Ok(room)) => {
                room.send(piece);
                true
            }
            Waited::TooSlow(floor) => {
                tracing::info!(path = %path, floor, "a download slower than the floor was cut");
                false
            }
            Waited::Done(Err(_)) | Waited::Idle => false,
        }
    }
}

/// The blocking half: opens the content (the part `range` names), says so,
/// then reads and queues it. A whole read is also checked against the ETag
/// at its end ([`at_end`], before its last piece is queued); a part, chunk
/// by chunk.
fn send_pieces(
    store: &Store,
    path: &PodPath,
    version: u64,
    range: Option<ByteRange>,
    opened: oneshot::Sender<Result<(), ApiError>>,
    mut out: Out,
) {
    let reader = store
        .open_content(path, Some(version))
        .map(|r| match range {
            Some(part) => r.range(part.start, part.end),
            None => r,
        });
    let mut reader = match reader {
        Ok(r) => r,
        Err(e) => {
            let _ = opened.send(Err(ApiError::from_core(&e)));
            return;
        }
    };
    if opened.send(Ok(())).is_err() {
        return;
    }
    let whole = range.is_none();
    let mut left = reader.remaining();
    let mut taken = 0u64;
    while left > 0 {
        let want = usize::try_from(left).map_or(PIECE, |l| l.min(PIECE));
        let piece = match read_piece(&mut reader, want) {
            Ok(p) if p.is_empty() => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the content ended before its size",
            )),
            Ok(p) if whole && p.len() as u64 == left => at_end(&mut reader).map(|()| p),
            other => other,
        };
        let failed = piece.is_err();
        if let Err(e) = &piece {
            // Damage or an I/O failure: the client's transfer is cut.
            tracing::error!(error = %e, path = %path, "reading a resource to send failed");
        }
        let len = piece.as_ref().map_or(0, |p| p.len() as u64);
        // A client that is gone, stalled or too slow ends it.
        if !out.send(piece, taken, path) || failed {
            return;
        }
        left -= len;
        taken += len;
    }
}

/// Reads past the last byte of a whole read, where the reader compares the
/// content with its ETag: anything but the end (a mismatch, more bytes than
/// the size, a failure) is an error.
fn at_end(reader: &mut dyn Read) -> io::Result<()> {
    let mut probe = [0u8; 1];
    loop {
        match reader.read(&mut probe) {
            Ok(0) => return Ok(()),
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the content is longer than its size",
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Up to `want` bytes, fewer only at the end of the content.
fn read_piece(reader: &mut dyn Read, want: usize) -> io::Result<Bytes> {
    let mut buf = vec![0u8; want];
    let mut filled = 0;
    while filled < want {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(Bytes::from(buf))
}

/// The response body: the queued pieces, exactly `remaining` bytes (an
/// error ends it early, which cuts the connection).
struct Pieces {
    queue: mpsc::Receiver<io::Result<Bytes>>,
    remaining: u64,
    /// The company's turn, given back when hyper drops the body.
    _turn: TransferTurn,
}

impl hyper::body::Body for Pieces {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        match self.queue.poll_recv(cx) {
            Poll::Ready(Some(Ok(piece))) => {
                self.remaining = self.remaining.saturating_sub(piece.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(piece))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the resource stopped before its end",
            )))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
