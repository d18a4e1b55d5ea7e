//! One WebSocket connection shared by a reading thread and any number of
//! writing threads, and the small timer both sides run their pings on.
//!
//! `tungstenite` is synchronous and one `WebSocket` both reads and writes,
//! so a thread blocked in `read` would keep every writer waiting. Instead
//! the reader first waits for bytes on a second handle of the socket
//! (`peek`, which consumes nothing) without holding the `WebSocket`, then
//! takes it and reads whatever complete messages have arrived in
//! non-blocking mode. Writers hold it only while they write, so a command
//! goes out at once and a heartbeat timeout is simply the socket's read
//! timeout. Over TLS the same holds: bytes on the socket may be a partial
//! record, which the non-blocking read keeps for the next round.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

use super::tls::Stream;

/// Locks a mutex, taking over the data if another thread panicked with it
/// (every structure here stays consistent between statements).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why a connection ended; its `Display` is the reason given in `Left` and logs.
#[derive(Debug)]
pub(crate) enum LinkError {
    /// The peer closed the connection or it was reset.
    Closed(String),
    /// Nothing arrived for the whole timeout.
    TimedOut(Duration),
    /// A message that is not a protocol message, or a WebSocket protocol violation.
    Malformed(String),
    /// A message or frame over the size limit.
    TooLarge(String),
    /// Any other socket error.
    Io(io::Error),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Closed(why) => write!(f, "connection closed: {why}"),
            LinkError::TimedOut(d) => {
                write!(f, "heartbeat timeout: nothing received for {}", humantime::format_duration(*d))
            }
            LinkError::Malformed(why) => write!(f, "malformed message: {why}"),
            LinkError::TooLarge(why) => write!(f, "message too large: {why}"),
            LinkError::Io(e) => write!(f, "connection error: {e}"),
        }
    }
}

impl From<tungstenite::Error> for LinkError {
    fn from(e: tungstenite::Error) -> LinkError {
        use tungstenite::Error as E;
        use tungstenite::error::ProtocolError as P;
        match e {
            E::ConnectionClosed | E::AlreadyClosed => LinkError::Closed("closed by this side".to_owned()),
            E::Protocol(P::ResetWithoutClosingHandshake) => LinkError::Closed("reset by the peer".to_owned()),
            E::Io(e) if is_disconnect(&e) => LinkError::Closed(e.to_string()),
            E::Io(e) => LinkError::Io(e),
            E::Capacity(e) => LinkError::TooLarge(e.to_string()),
            other => LinkError::Malformed(other.to_string()),
        }
    }
}

fn is_disconnect(e: &io::Error) -> bool {
    use io::ErrorKind as K;
    matches!(e.kind(), K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof | K::NotConnected)
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// What the reader has taken off the socket but not handed out yet: the
/// messages, then the error that ended the connection, if any (so the last
/// messages before a close are still delivered).
#[derive(Default)]
struct Inbox {
    messages: VecDeque<Message>,
    error: Option<LinkError>,
}

/// A WebSocket connection: one thread calls [`Link::recv`], any thread [`Link::send`].
pub(crate) struct Link {
    ws: Mutex<WebSocket<Stream>>,
    /// A second handle on the socket, to wait for bytes without holding `ws`.
    watch: TcpStream,
    inbox: Mutex<Inbox>,
    timeout: Mutex<Duration>,
}

impl Link {
    /// Wraps an open WebSocket; [`Link::recv`] gives up after `timeout` of silence.
    pub(crate) fn new(ws: WebSocket<Stream>, timeout: Duration) -> io::Result<Link> {
        let stream = ws.get_ref().tcp();
        stream.set_nodelay(true)?;
        let watch = stream.try_clone()?;
        let link = Link { ws: Mutex::new(ws), watch, inbox: Mutex::default(), timeout: Mutex::new(timeout) };
        link.set_timeout(timeout)?;
        Ok(link)
    }

    /// Changes the silence after which [`Link::recv`] fails (and a write gives up).
    pub(crate) fn set_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.watch.set_read_timeout(Some(timeout))?;
        self.watch.set_write_timeout(Some(timeout))?;
        *lock(&self.timeout) = timeout;
        Ok(())
    }

    /// Sends one protocol message as JSON text.
    pub(crate) fn send<M: Serialize>(&self, message: &M) -> Result<(), LinkError> {
        let text = serde_json::to_string(message).map_err(|e| LinkError::Malformed(e.to_string()))?;
        Ok(lock(&self.ws).send(Message::text(text))?)
    }

    /// Sends a WebSocket ping; the peer's pong proves it alive.
    pub(crate) fn ping(&self) -> Result<(), LinkError> {
        Ok(lock(&self.ws).send(Message::Ping(Default::default()))?)
    }

    /// Sends a close frame with `reason` (best effort: the peer may be gone).
    pub(crate) fn close(&self, reason: &str) {
        // A close reason must fit a control frame (125 bytes); cut on a character boundary.
        let mut end = reason.len().min(120);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let frame = CloseFrame { code: CloseCode::Normal, reason: reason[..end].into() };
        let mut ws = lock(&self.ws);
        let _ = ws.close(Some(frame));
        let _ = ws.flush();
    }

    /// Cuts the connection at once: the reader, here and on the other side, sees it closed.
    pub(crate) fn shutdown(&self) {
        let _ = self.watch.shutdown(Shutdown::Both);
    }

    /// The next protocol message, waiting for it as long as pings keep
    /// arriving; an error ends the connection.
    pub(crate) fn recv<M: DeserializeOwned>(&self) -> Result<M, LinkError> {
        loop {
            // Bytes may already sit in the WebSocket's buffer (read along with the
            // handshake or an earlier message), where `peek` would not see them.
            self.read_available();
            if let Some(result) = self.next_in_inbox() {
                return result;
            }
            self.wait_for_bytes()?;
        }
    }

    /// The first protocol message or error of the inbox, skipping pings and pongs.
    fn next_in_inbox<M: DeserializeOwned>(&self) -> Option<Result<M, LinkError>> {
        let mut inbox = lock(&self.inbox);
        while let Some(message) = inbox.messages.pop_front() {
            return Some(match message {
                Message::Text(text) => serde_json::from_str(&text).map_err(|e| LinkError::Malformed(e.to_string())),
                Message::Binary(_) => Err(LinkError::Malformed("binary message".to_owned())),
                Message::Close(frame) => Err(LinkError::Closed(
                    frame.map_or_else(|| "closed by the peer".to_owned(), |f| f.reason.to_string()),
                )),
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            });
        }
        inbox.error.take().map(Err)
    }

    /// Blocks until bytes (or the end of the stream) can be read, at most the timeout.
    fn wait_for_bytes(&self) -> Result<(), LinkError> {
        match self.watch.peek(&mut [0u8]) {
            Ok(_) => Ok(()),
            Err(e) if is_timeout(&e) => Err(LinkError::TimedOut(*lock(&self.timeout))),
            Err(e) if is_disconnect(&e) => Err(LinkError::Closed(e.to_string())),
            Err(e) => Err(LinkError::Io(e)),
        }
    }

    /// Moves every complete message already received into the inbox
    /// (answering pings on the way), without waiting for more.
    fn read_available(&self) {
        let mut ws = lock(&self.ws);
        let mut inbox = lock(&self.inbox);
        if let Err(e) = ws.get_ref().tcp().set_nonblocking(true) {
            inbox.error = Some(LinkError::Io(e));
            return;
        }
        loop {
            match ws.read() {
                Ok(message) => inbox.messages.push_back(message),
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    inbox.error = Some(e.into());
                    break;
                }
            }
        }
        if let Err(e) = ws.get_ref().tcp().set_nonblocking(false) {
            inbox.error.get_or_insert(LinkError::Io(e));
        }
    }
}

/// A stop signal that sleeping threads wake up for at once.
#[derive(Default)]
pub(crate) struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    /// Stops every thread waiting on this signal.
    pub(crate) fn stop(&self) {
        *lock(&self.stopped) = true;
        self.wake.notify_all();
    }

    /// Whether [`Stop::stop`] was called.
    pub(crate) fn is_stopped(&self) -> bool {
        *lock(&self.stopped)
    }

    /// Sleeps for `d` or until stopped; true if stopped.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let guard = lock(&self.stopped);
        let (stopped, _) =
            self.wake.wait_timeout_while(guard, d, |stopped| !*stopped).unwrap_or_else(PoisonError::into_inner);
        *stopped
    }
}

/// Runs `tick` every `interval` on a new thread until `stop` or until `tick` returns false.
pub(crate) fn every(
    name: &str,
    interval: Duration,
    stop: Arc<Stop>,
    mut tick: impl FnMut() -> bool + Send + 'static,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name.to_owned()).spawn(move || {
        while !stop.sleep(interval) {
            if !tick() {
                break;
            }
        }
    })
}

/// Cuts connections that are still in their handshake at their deadline,
/// however slowly bytes or pings trickle in (a socket's read timeout only
/// bounds each read), and caps how many may be in it at once. One thread
/// serves every connection.
#[derive(Clone)]
pub(crate) struct Watchdog {
    inner: Arc<WatchdogInner>,
}

#[derive(Default)]
struct WatchdogInner {
    /// By watch number.
    pending: Mutex<std::collections::HashMap<u64, Pending>>,
    next: AtomicU64,
}

/// A connection in its handshake.
struct Pending {
    deadline: std::time::Instant,
    /// A handle to cut it with.
    stream: TcpStream,
    /// Set when it was cut.
    expired: Arc<AtomicBool>,
}

/// A connection under watch, until dropped.
pub(crate) struct Watched {
    id: u64,
    expired: Arc<AtomicBool>,
    inner: Arc<WatchdogInner>,
}

impl Watched {
    /// Whether the deadline passed and the connection was cut.
    pub(crate) fn expired(&self) -> bool {
        self.expired.load(Ordering::SeqCst)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        lock(&self.inner.pending).remove(&self.id);
    }
}

impl Watchdog {
    /// Starts the watching thread, which checks deadlines every `tick` until `stop`.
    pub(crate) fn start(tick: Duration, stop: Arc<Stop>) -> io::Result<Watchdog> {
        let watchdog = Watchdog { inner: Arc::default() };
        let inner = Arc::clone(&watchdog.inner);
        every("handshake-watchdog", tick, stop, move || {
            let now = std::time::Instant::now();
            lock(&inner.pending).retain(|_, pending| {
                if pending.deadline > now {
                    return true;
                }
                pending.expired.store(true, Ordering::SeqCst);
                let _ = pending.stream.shutdown(Shutdown::Both);
                false
            });
            true
        })?;
        Ok(watchdog)
    }

    /// Watches `stream` until `deadline`; `Ok(None)` when `cap` connections are already watched.
    pub(crate) fn watch(
        &self,
        stream: &TcpStream,
        deadline: std::time::Instant,
        cap: usize,
    ) -> io::Result<Option<Watched>> {
        let mut pending = lock(&self.inner.pending);
        if pending.len() >= cap {
            return Ok(None);
        }
        let id = self.inner.next.fetch_add(1, Ordering::SeqCst);
        let expired = Arc::new(AtomicBool::new(false));
        pending.insert(id, Pending { deadline, stream: stream.try_clone()?, expired: Arc::clone(&expired) });
        Ok(Some(Watched { id, expired, inner: Arc::clone(&self.inner) }))
    }
}
