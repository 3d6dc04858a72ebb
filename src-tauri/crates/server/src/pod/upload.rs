//! Taking a large body without holding it: the request body as a blocking
//! `std::io::Read`, for the core's streamed write (`pod::decide_streamed`,
//! which reads it only once the grant allows the write).
//!
//! Each `read` waits on the runtime for the body's next frame, so nothing
//! is read before the core asks (not even `100 Continue` is sent), and at
//! most one frame is held at a time. Instead of one time-out for the whole
//! body (a multi-GiB body may take long), a body that sends nothing for the
//! idle time is cut off: 408; so is one slower than the pod's floor on a
//! transfer's rate (`custodian_core::limits::transfer`, judged on the
//! bytes read so far, and waited for no longer than the next judgement). A
//! body that breaks off (the client hung up, or sent less than its
//! `Content-Length`) is an error to the core, which then stores nothing.

use std::io::{self, Read};
use std::pin::Pin;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use hyper::body::Body as _;
use tokio::runtime::Handle;

use crate::error::ApiError;
use crate::limits::{PaceTimer, TransferPace, Waited};

/// Why a streamed body ended before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    /// Nothing arrived for the idle time.
    Idle(Duration),
    /// It arrived slower than the floor (bytes per second).
    TooSlow(u64),
    /// The body broke off (the connection closed or failed midway).
    BrokeOff,
}

impl Fault {
    /// The logged reason, in the words of the answer.
    pub(super) fn reason(self) -> &'static str {
        match self {
            Fault::Idle(_) => "request_timeout",
            Fault::TooSlow(_) => TOO_SLOW,
            Fault::BrokeOff => "invalid_request",
        }
    }

    /// The answer (which a client that broke off never reads).
    pub(super) fn error(self) -> ApiError {
        match self {
            Fault::Idle(idle) => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "invalid_request",
                format!("the request body sent nothing for {idle:?}"),
            ),
            Fault::TooSlow(floor) => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "invalid_request",
                format!(
                    "the request body arrived slower than this pod accepts ({floor} bytes a \
                     second on average); nothing was stored"
                ),
            ),
            Fault::BrokeOff => {
                ApiError::bad_request("invalid_request", "the request body broke off midway")
            }
        }
    }
}

/// The logged reason of a transfer cut for its rate.
pub(super) const TOO_SLOW: &str = "too_slow";

/// A request body read from a blocking thread.
pub(super) struct BodyReader {
    body: Body,
    handle: Handle,
    idle: Duration,
    /// The floor on the body's rate, timed from the first read (not while
    /// the request waits for a stream turn), and the bytes read so far.
    pace: TransferPace,
    timer: Option<PaceTimer>,
    read: u64,
    /// What is left of the frame being read.
    current: Bytes,
    ended: bool,
    /// Why the body ended early, once it has.
    pub(super) fault: Option<Fault>,
}

impl BodyReader {
    /// Reads `body` on the runtime `handle`, waiting at most `idle` for
    /// each frame, and cutting it when `pace` says it is too slow.
    pub(super) fn new(body: Body, handle: Handle, idle: Duration, pace: TransferPace) -> Self {
        BodyReader {
            body,
            handle,
            idle,
            pace,
            timer: None,
            read: 0,
            current: Bytes::new(),
            ended: false,
            fault: None,
        }
    }

    fn fail(&mut self, fault: Fault) -> io::Error {
        self.fault = Some(fault);
        self.ended = true;
        match fault {
            Fault::Idle(_) => io::Error::new(io::ErrorKind::TimedOut, "the request body stalled"),
            Fault::TooSlow(_) => {
                io::Error::new(io::ErrorKind::TimedOut, "the request body was too slow")
            }
            Fault::BrokeOff => {
                io::Error::new(io::ErrorKind::UnexpectedEof, "the request body broke off")
            }
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.current.is_empty() {
            if let Some(fault) = self.fault {
                return Err(self.fail(fault));
            }
            if self.ended {
                return Ok(0);
            }
            // Waits for the next frame no longer than the idle time, and
            // judged against the floor meanwhile.
            let timer = self.timer.get_or_insert_with(|| self.pace.start());
            let body = &mut self.body;
            let next = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx));
            let frame = match timer.wait(&self.handle, self.read, self.idle, next) {
                Waited::Done(frame) => frame,
                Waited::TooSlow(floor) => return Err(self.fail(Fault::TooSlow(floor))),
                Waited::Idle => return Err(self.fail(Fault::Idle(self.idle))),
            };
            match frame {
                Some(Err(_)) => return Err(self.fail(Fault::BrokeOff)),
                None => self.ended = true,
                // Trailers carry no content.
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.read += data.len() as u64;
                        self.current = data;
                    }
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
