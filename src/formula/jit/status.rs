//! The status a compiled formula returns: how its run ended.

/// The function ran to its end.
pub(super) const COMPLETED: i64 = 0;
/// `stop()` ended it.
pub(super) const STOPPED: i64 = 1;
/// A runtime function or a compiled-in error failed; the state says why.
pub(super) const FAULT: i64 = 2;

/// The outcome of a compiled run, decoded from the code's return value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    /// Every statement ran.
    Completed,
    /// `stop()` ended the run in this statement.
    Stopped(u32),
    /// A failure; the state holds its site.
    Fault,
}

impl Status {
    /// Decodes `code`: the low two bits say how the run ended, the rest in
    /// which statement `stop()` was.
    pub fn of(code: i32) -> Status {
        match i64::from(code) & 3 {
            COMPLETED => Status::Completed,
            STOPPED => Status::Stopped((code >> 2) as u32),
            _ => Status::Fault,
        }
    }
}
