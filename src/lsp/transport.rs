//! The framing under the language server: `Content-Length` headers and JSON
//! bodies on stdin/stdout. It is read here rather than by `lsp-server`'s
//! own reader (which ends the session on the first malformed message and
//! allocates whatever length a header claims), so that no input can end
//! the session or exhaust memory:
//!
//! - a body longer than [`MAX_MESSAGE_BYTES`], a header line longer than
//!   [`MAX_HEADER_LINE`] or more than [`MAX_HEADERS`] headers is refused
//!   before anything is allocated for it, with an `InvalidRequest` error;
//! - a body that is not JSON (or not UTF-8, or holds a lone surrogate
//!   escape) gets a `ParseError` error, and a JSON value that is not a
//!   message an `InvalidRequest` error, both with a `null` id as JSON-RPC
//!   says when the id cannot be known; a notification whose fields are
//!   wrong is logged and skipped (a notification is never answered);
//! - after any of these the reader finds its footing again at the next
//!   `Content-Length:` header, so the session goes on.
//!
//! The messages that do decode go to the server through an
//! [`lsp_server::Connection`], as `Connection::stdio()` would send them,
//! over channels of at most [`MAX_QUEUED`] messages.

use std::io::{self, Read, Write};
use std::thread::JoinHandle;

use lsp_server::{Connection, ErrorCode, Message};
use serde_json::{Value, json};

/// The longest message body accepted, in bytes (4 MiB): 512 times the
/// longest formula, with room for JSON escapes.
pub const MAX_MESSAGE_BYTES: usize = 4 << 20;
/// The longest header line accepted, in bytes.
pub const MAX_HEADER_LINE: usize = 1024;
/// The most header lines one message may have.
pub const MAX_HEADERS: usize = 16;

/// The most messages waiting in each direction between the I/O threads
/// and the server.
pub const MAX_QUEUED: usize = 16;

/// Where every message starts, compared without case.
const CONTENT_LENGTH: &[u8] = b"content-length:";

/// What one read from the input gives.
#[derive(Debug, PartialEq)]
pub(super) enum Frame {
    /// A message body, not yet decoded.
    Body(Vec<u8>),
    /// A message refused for its headers (its body, if any, is skipped).
    Refused(String),
}

/// What a body decodes to.
#[derive(Debug)]
pub(super) enum Decoded {
    /// A message for the server.
    Message(Message),
    /// An error response to send back (a JSON-RPC response object).
    Reply(Value),
    /// Nothing to answer (a malformed notification); the reason is logged.
    Skip(String),
}

/// Reads framed messages from `inner`, with a buffer that bytes can be put
/// back into.
pub(super) struct FrameReader<R> {
    inner: R,
    buffer: Vec<u8>,
    at: usize,
}

impl<R: Read> FrameReader<R> {
    pub(super) fn new(inner: R) -> FrameReader<R> {
        FrameReader { inner, buffer: Vec::new(), at: 0 }
    }

    /// The next message, `None` at the end of the input.
    pub(super) fn read_frame(&mut self) -> io::Result<Option<Frame>> {
        let Some(skipped) = self.skip_to_header()? else { return Ok(None) };
        if let Some(note) = skipped {
            log(&note);
        }
        let length = match self.read_line()? {
            Line::End => return Ok(None),
            Line::TooLong => Err(format!("a header line is longer than {MAX_HEADER_LINE} bytes")),
            Line::Text(value) => {
                let value = String::from_utf8_lossy(&value);
                let value = value.trim();
                match value.parse::<u64>() {
                    Ok(n) if n > MAX_MESSAGE_BYTES as u64 => {
                        Err(format!("a message of {n} bytes is over the limit of {MAX_MESSAGE_BYTES} bytes"))
                    }
                    // Not above MAX_MESSAGE_BYTES, so it fits.
                    Ok(n) => Ok(usize::try_from(n).unwrap_or(MAX_MESSAGE_BYTES)),
                    Err(_) => Err(format!("invalid Content-Length `{}`", value.escape_debug())),
                }
            }
        };
        let mut headers = 1;
        loop {
            match self.read_line()? {
                Line::End => return Ok(None),
                Line::TooLong => {
                    return Ok(Some(Frame::Refused(format!("a header line is longer than {MAX_HEADER_LINE} bytes"))));
                }
                Line::Text(line) if line.iter().all(u8::is_ascii_whitespace) => break,
                Line::Text(line) if !line.contains(&b':') => {
                    let line = String::from_utf8_lossy(&line);
                    return Ok(Some(Frame::Refused(format!("malformed header `{}`", line.trim().escape_debug()))));
                }
                Line::Text(_) => {}
            }
            headers += 1;
            if headers > MAX_HEADERS {
                return Ok(Some(Frame::Refused(format!("more than {MAX_HEADERS} headers"))));
            }
        }
        let length = match length {
            Ok(length) => length,
            Err(why) => return Ok(Some(Frame::Refused(why))),
        };
        let mut body = Vec::with_capacity(length);
        while body.len() < length {
            if !self.fill()? {
                return Ok(None);
            }
            let take = (length - body.len()).min(self.buffer.len() - self.at);
            body.extend_from_slice(&self.buffer[self.at..self.at + take]);
            self.at += take;
        }
        Ok(Some(Frame::Body(body)))
    }

    /// Puts back the part of a body that failed to parse from its first
    /// `Content-Length:` on: a `Content-Length` too long for its body
    /// swallows the start of the next message, which is read again.
    pub(super) fn recover_from(&mut self, body: &[u8]) {
        if let Some(start) = find_header(body) {
            let mut buffer = body[start..].to_vec();
            buffer.extend_from_slice(&self.buffer[self.at..]);
            self.buffer = buffer;
            self.at = 0;
        }
    }

    /// Makes sure the buffer holds a byte; `false` at the end of the input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.at < self.buffer.len() {
            return Ok(true);
        }
        self.buffer.resize(8192, 0);
        self.at = 0;
        loop {
            match self.inner.read(&mut self.buffer) {
                Ok(n) => {
                    self.buffer.truncate(n);
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buffer.clear();
                    return Err(e);
                }
            }
        }
    }

    fn next_byte(&mut self) -> io::Result<Option<u8>> {
        if !self.fill()? {
            return Ok(None);
        }
        self.at += 1;
        Ok(Some(self.buffer[self.at - 1]))
    }

    /// Discards the input up to and including the next `Content-Length:`.
    /// `None` at the end of the input; otherwise a note when what was
    /// skipped is more than blank space or a `Content-Type` header.
    fn skip_to_header(&mut self) -> io::Result<Option<Option<String>>> {
        let mut matched = 0;
        let mut skipped = 0_usize;
        let mut seen = Vec::new();
        loop {
            let Some(byte) = self.next_byte()? else { return Ok(None) };
            let lower = byte.to_ascii_lowercase();
            if lower == CONTENT_LENGTH[matched] {
                matched += 1;
                if matched == CONTENT_LENGTH.len() {
                    break;
                }
                continue;
            }
            // No byte of the pattern repeats its first, so a mismatch
            // restarts the match at this byte.
            let restart = usize::from(lower == CONTENT_LENGTH[0]);
            skipped += matched + 1 - restart;
            if seen.len() < 64 {
                seen.extend_from_slice(&CONTENT_LENGTH[..matched]);
                if restart == 0 {
                    seen.push(byte);
                }
            }
            matched = restart;
        }
        let seen = String::from_utf8_lossy(&seen);
        let seen = seen.trim();
        if seen.is_empty() || seen.to_ascii_lowercase().starts_with("content-type:") {
            return Ok(Some(None));
        }
        let shown: String = seen.chars().take(40).collect();
        Ok(Some(Some(format!("skipped {skipped} bytes of input that are not a message: `{}`", shown.escape_debug()))))
    }

    /// The rest of the line, without its line break.
    fn read_line(&mut self) -> io::Result<Line> {
        let mut line = Vec::new();
        loop {
            match self.next_byte()? {
                None => return Ok(Line::End),
                Some(b'\n') => {
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Ok(Line::Text(line));
                }
                Some(_) if line.len() >= MAX_HEADER_LINE => return Ok(Line::TooLong),
                Some(byte) => line.push(byte),
            }
        }
    }
}

enum Line {
    Text(Vec<u8>),
    TooLong,
    End,
}

/// Where `Content-Length:` first appears in `bytes`, in any case, or the
/// start of it that `bytes` ends with.
fn find_header(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len()).find(|&start| {
        let rest = &bytes[start..];
        let n = rest.len().min(CONTENT_LENGTH.len());
        rest[..n].eq_ignore_ascii_case(&CONTENT_LENGTH[..n])
    })
}

/// An error response with `id` (`null` when it is not known).
pub(super) fn error_response(id: Value, code: ErrorCode, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code as i32, "message": message}})
}

/// Decodes one body.
pub(super) fn decode(body: &[u8]) -> Decoded {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            return Decoded::Reply(error_response(Value::Null, ErrorCode::ParseError, &format!("Parse error: {e}")));
        }
    };
    let id = value.get("id").cloned();
    let is_notification = id.is_none() && value.get("method").is_some();
    match serde_json::from_value::<Message>(value) {
        // A request whose id is not an i32 or a string decodes as a
        // notification: answer it, as the client waits for an answer.
        Ok(Message::Notification(_)) if id.is_some() => {
            let id = id.filter(|id| id.is_number() || id.is_string()).unwrap_or(Value::Null);
            Decoded::Reply(error_response(id, ErrorCode::InvalidRequest, "Invalid request: unsupported id"))
        }
        Ok(message) => Decoded::Message(message),
        Err(e) if is_notification => Decoded::Skip(format!("skipped a malformed notification: {e}")),
        Err(e) => {
            let id = id.filter(|id| id.is_number() || id.is_string()).unwrap_or(Value::Null);
            Decoded::Reply(error_response(id, ErrorCode::InvalidRequest, &format!("Invalid request: {e}")))
        }
    }
}

/// Writes one framed body.
fn write_frame(out: &mut impl Write, body: &[u8]) -> io::Result<()> {
    write!(out, "Content-Length: {}\r\n\r\n", body.len())?;
    out.write_all(body)?;
    out.flush()
}

/// A line for the client's log (stderr).
pub(super) fn log(message: &str) {
    eprintln!("autoscale-sim lsp: {message}");
}

/// The threads moving messages between stdin/stdout and the connection.
pub(super) struct IoThreads {
    writer: JoinHandle<io::Result<()>>,
}

impl IoThreads {
    /// Waits until every message the server sent is written. The reader is
    /// not waited for: it stops after `exit` or at the end of the input,
    /// and the process ending stops it otherwise.
    pub(super) fn join(self) -> io::Result<()> {
        self.writer.join().unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")))
    }
}

/// A connection over stdin/stdout, framed as described above.
pub(super) fn stdio() -> io::Result<(Connection, IoThreads)> {
    // Bounded both ways: a client that sends faster than the server analyses
    // waits (its writes block once the pipe fills) instead of queueing
    // messages of up to MAX_MESSAGE_BYTES without end.
    let (to_server, from_client) = crossbeam_channel::bounded(MAX_QUEUED);
    let (to_client, from_server) = crossbeam_channel::bounded(MAX_QUEUED);
    let server = Connection { sender: to_client, receiver: from_client };
    std::thread::Builder::new().name("lsp-reader".to_owned()).spawn(move || {
        let mut reader = FrameReader::new(io::stdin().lock());
        loop {
            let frame = match reader.read_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => return,
                Err(e) => {
                    log(&format!("cannot read the input: {e}"));
                    return;
                }
            };
            let reply = match frame {
                Frame::Refused(why) => {
                    log(&format!("refused a message: {why}"));
                    error_response(Value::Null, ErrorCode::InvalidRequest, &format!("Invalid request: {why}"))
                }
                Frame::Body(body) => match decode(&body) {
                    Decoded::Message(message) => {
                        let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
                        if to_server.send(message).is_err() || exit {
                            return;
                        }
                        continue;
                    }
                    Decoded::Skip(why) => {
                        log(&why);
                        continue;
                    }
                    Decoded::Reply(reply) => {
                        log(&format!("answered a malformed message: {}", reply["error"]["message"]));
                        if reply["error"]["code"] == ErrorCode::ParseError as i32 {
                            reader.recover_from(&body);
                        }
                        reply
                    }
                },
            };
            let written = serde_json::to_vec(&reply)
                .map_err(io::Error::from)
                .and_then(|body| write_frame(&mut io::stdout().lock(), &body));
            if let Err(e) = written {
                log(&format!("cannot write to the output: {e}"));
                return;
            }
        }
    })?;
    let writer = std::thread::Builder::new().name("lsp-writer".to_owned()).spawn(move || {
        for message in from_server {
            message.write(&mut io::stdout().lock())?;
        }
        Ok(())
    })?;
    Ok((server, IoThreads { writer }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Frame> {
        let mut reader = FrameReader::new(input);
        let mut out = Vec::new();
        while let Some(frame) = reader.read_frame().expect("reading a slice cannot fail") {
            if let Frame::Body(body) = &frame
                && matches!(decode(body), Decoded::Reply(_))
            {
                reader.recover_from(body);
            }
            out.push(frame);
        }
        out
    }

    fn body(text: &str) -> Frame {
        Frame::Body(text.as_bytes().to_vec())
    }

    #[test]
    fn reads_framed_messages_with_any_header_case_and_content_type() {
        let input = b"Content-Length: 2\r\n\r\n{}content-length:3\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n[1]";
        assert_eq!(frames(input), vec![body("{}"), body("[1]")]);
        // Bare LF line ends too.
        assert_eq!(frames(b"Content-Length: 2\n\n{}"), vec![body("{}")]);
    }

    #[test]
    fn a_huge_length_is_refused_without_allocating_and_the_next_message_read() {
        let input = b"Content-Length: 999999999999999\r\n\r\n{\"a\":1}Content-Length: 2\r\n\r\n{}";
        let got = frames(input);
        assert!(matches!(&got[0], Frame::Refused(why) if why.contains("999999999999999")), "{got:?}");
        assert_eq!(got[1..], [body("{}")]);
        let got = frames(b"Content-Length: 99999999999999999999999\r\n\r\nContent-Length: 2\r\n\r\n{}");
        assert!(matches!(&got[0], Frame::Refused(why) if why.contains("invalid")), "{got:?}");
        assert_eq!(got[1..], [body("{}")]);
    }

    #[test]
    fn long_or_many_header_lines_are_refused() {
        let mut input = b"Content-Length: 2\r\nX: ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100_000));
        input.extend_from_slice(b"\r\n\r\n{}Content-Length: 2\r\n\r\n[]");
        let got = frames(&input);
        assert!(matches!(&got[0], Frame::Refused(why) if why.contains("longer")), "{got:?}");
        assert_eq!(got[1..], [body("[]")]);
        let mut input = b"Content-Length: 2\r\n".to_vec();
        input.extend(std::iter::repeat_n(&b"X: y\r\n"[..], 50).flatten());
        input.extend_from_slice(b"\r\n{}Content-Length: 2\r\n\r\n[]");
        let got = frames(&input);
        assert!(matches!(&got[0], Frame::Refused(why) if why.contains("headers")), "{got:?}");
        assert_eq!(got[1..], [body("[]")]);
    }

    #[test]
    fn garbage_is_skipped_and_a_too_long_length_gives_the_next_message_back() {
        let got = frames(b"hello\r\n\r\nContent-Length: 2\r\n\r\n{}");
        assert_eq!(got, vec![body("{}")]);
        // The first length covers the start of the second message.
        let got = frames(b"Content-Length: 12\r\n\r\n{}Content-Length: 2\r\n\r\n[]");
        assert_eq!(got, vec![body("{}Content-Le"), body("[]")]);
    }

    #[test]
    fn bad_bodies_are_answered_with_the_json_rpc_error_codes() {
        let code = |text: &str| match decode(text.as_bytes()) {
            Decoded::Reply(reply) => (reply["id"].clone(), reply["error"]["code"].as_i64()),
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(code("{\"jsonrpc\": "), (Value::Null, Some(-32700)));
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":"\ud800"}"#), (Value::Null, Some(-32700)));
        assert_eq!(code("[1, 2]"), (Value::Null, Some(-32600)));
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":7,"method":3}"#), (json!(7), Some(-32600)));
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#), (json!(1.5), Some(-32600)));
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#), (Value::Null, Some(-32600)));
        assert!(matches!(decode(br#"{"jsonrpc":"2.0","method":3}"#), Decoded::Skip(_)));
        assert!(matches!(decode(br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#), Decoded::Message(Message::Request(_))));
        assert!(matches!(decode(b"\xff\xfe"), Decoded::Reply(_)));
    }
}
