//! A connection whose writes must make progress: a client that reads
//! nothing of an answer leaves the pod's writes waiting on a full socket;
//! after the write time-out without a byte taken, the write fails, hyper
//! closes the connection, and everything the answer held (its buffers, a
//! company's transfer turn) is given back.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// `S` with a time-out on each write (or flush, or shutdown) that makes no
/// progress at all; reads pass through (the header and body time-outs
/// judge them).
pub(crate) struct WriteTimeout<S> {
    inner: S,
    limit: Duration,
    /// Armed when a write first waits; disarmed when one goes through.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteTimeout<S> {
    pub(crate) fn new(inner: S, limit: Duration) -> Self {
        WriteTimeout {
            inner,
            limit,
            deadline: None,
        }
    }

    /// What a write that went one way or the other becomes: done (the
    /// deadline disarmed), or still waiting (the deadline armed, and an
    /// error once it has passed).
    fn judge<T>(
        &mut self,
        polled: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.deadline = None;
            return polled;
        }
        let limit = self.limit;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took nothing of the answer for the write time-out",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.judge(polled, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.judge(polled, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.judge(polled, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.judge(polled, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A write nobody takes fails after the time-out; one taken in time
    /// goes through however long the whole takes.
    #[tokio::test(start_paused = true)]
    async fn a_write_nobody_takes_fails_after_the_time_out() {
        let (near, mut far) = tokio::io::duplex(16);
        let mut w = WriteTimeout::new(near, Duration::from_secs(30));
        w.write_all(&[1; 16]).await.unwrap();
        let err = w.write_all(&[2; 16]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);

        let (near, mut far2) = tokio::io::duplex(16);
        let mut w = WriteTimeout::new(near, Duration::from_secs(30));
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut buf = [0u8; 16];
            while got.len() < 64 {
                tokio::time::sleep(Duration::from_secs(20)).await;
                let n = tokio::io::AsyncReadExt::read(&mut far2, &mut buf)
                    .await
                    .unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            got
        });
        w.write_all(&[3; 64]).await.unwrap();
        assert_eq!(reader.await.unwrap(), vec![3; 64]);
        drop(far.shutdown().await);
    }
}
