//! The event queue: pending events in (time, insertion) order, so that
//! events due at the same instant come out first-in first-out; cancellable;
//! the clock is the time of the last event delivered.
//!
//! Nothing here knows about pools or tasks; the model pushes its own event
//! type through [`Queue`].

use std::collections::VecDeque;

use crate::time::{SimDuration, SimTime};

/// A handle on a scheduled event, to cancel it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(u64);

/// One queued event. Ordered by `(time, seq)` only; the payload never
/// takes part in the order.
#[derive(Debug)]
struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    /// What the queue orders by.
    fn key(&self) -> (SimTime, u64) {
        (self.time, self.seq)
    }
}

/// Bits of time per level of the queue's buckets. Bytes rather than hex
/// digits: a task end 40 minutes (2²¹ ms) ahead sits at level 2 instead
/// of level 5, so it moves down at most twice instead of five times, and
/// those moves were most of the queue's cost.
const DIGIT_BITS: u32 = 8;
/// Buckets per level: one per value of a digit.
const DIGITS: usize = 1 << DIGIT_BITS;
/// Buckets in all: `u64` times have 64 / 8 = 8 levels of 256 digits.
const BUCKETS: usize = 64 / DIGIT_BITS as usize * DIGITS;
/// The most entries a bucket's buffer keeps room for once it is emptied
/// (8 KiB; 16 MiB over every bucket at most).
const KEPT_BUFFER: usize = 256;
// `Queue::words` has a bit per word of `Queue::occupied`.
const _: () = assert!(BUCKETS / 64 <= u32::BITS as usize);

/// The sequence numbers of cancelled events not yet discarded: one bit
/// per event, from the oldest marked one's word on, set while it is
/// cancelled. A test is a load and a shift, where a hash set would hash
/// the number on every pop. Words before the first marked one are
/// dropped as marks are removed, so the bits span the events scheduled
/// since the oldest cancelled one still queued, not the whole run.
#[derive(Debug, Default)]
struct Cancelled {
    /// Word `i` holds the marks of events `64 * (first + i)` onwards.
    bits: VecDeque<u64>,
    first: u64,
    count: usize,
}

impl Cancelled {
    /// Marks `seq`; false if it was already marked.
    fn insert(&mut self, seq: u64) -> bool {
        let word = seq / 64;
        if self.bits.is_empty() {
            self.first = word;
        }
        // An event older than every marked one: its word goes in front.
        while word < self.first {
            self.bits.push_front(0);
            self.first -= 1;
        }
        let i = (word - self.first) as usize;
        if i >= self.bits.len() {
            self.bits.resize(i + 1, 0);
        }
        let bit = 1 << (seq % 64);
        let fresh = self.bits[i] & bit == 0;
        self.bits[i] |= bit;
        self.count += usize::from(fresh);
        fresh
    }

    /// The word holding `seq`'s mark, if any word does.
    #[inline]
    fn word(&self, seq: u64) -> Option<usize> {
        let i = (seq / 64).checked_sub(self.first)?;
        usize::try_from(i).ok().filter(|&i| i < self.bits.len())
    }

    /// Whether `seq` is marked.
    fn contains(&self, seq: u64) -> bool {
        self.word(seq).is_some_and(|i| self.bits[i] & (1 << (seq % 64)) != 0)
    }

    /// Unmarks `seq`; whether it was marked. Empty words at the front go.
    #[inline]
    fn remove(&mut self, seq: u64) -> bool {
        let Some(i) = self.word(seq) else {
            return false;
        };
        let bit = 1 << (seq % 64);
        let was = self.bits[i] & bit != 0;
        self.bits[i] &= !bit;
        self.count -= usize::from(was);
        // The front word is never empty: only clearing it can make it so.
        if i == 0 {
            while self.bits.front() == Some(&0) {
                self.bits.pop_front();
                self.first += 1;
            }
        }
        was
    }

    /// Whether nothing is marked.
    fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// How many are marked.
    fn len(&self) -> usize {
        self.count
    }
}

/// The pending events, earliest first.
///
/// Events are ordered by `(time, sequence number)`. The sequence number,
/// taken from a counter at insertion, makes events due at the same instant
/// come out in the order they were scheduled (FIFO). Without it equal
/// times would come out in an order that depends on the queue's internal
/// layout, and a task that arrives at the same millisecond as a node
/// becomes idle could start on one run and wait on the next. With it, a
/// run is a pure function of the scenario and the seed.
///
/// The structure is a radix heap with byte-sized digits. It relies on
/// times being monotone: the clock never runs backwards, so every event
/// scheduled is at or after `last`, the time of the last event popped.
/// Events at `last` wait in `due`, in sequence order. Any other event goes
/// to the bucket named by the highest digit of its time that differs
/// from `last` — its level — and its value of that digit: a push is a bit
/// scan and a `Vec` push. Lower buckets hold earlier times, so a pop
/// takes `due`'s first event or else the earliest event of the lowest
/// non-empty bucket, which becomes `last`; the rest of that bucket share
/// its digits from that level up, so they move to lower levels or to
/// `due`. An event moves down a few times at most over its life, and moves
/// only with the few events that share its bucket. With the model's ten
/// thousand pending task ends, that is several times cheaper than a binary
/// heap, whose every push and pop walks its whole depth comparing
/// two-field keys.
///
/// Cancelling marks the event's sequence number; the entry stays queued and is
/// discarded when it is the earliest. Cancellation is rare next to
/// scheduling (a requeued task, a node removed before its timer), so a
/// lazy delete is cheaper than tracking where each entry sits.
#[derive(Debug)]
pub struct Queue<E> {
    /// Events at `last`, by sequence number.
    due: VecDeque<Entry<E>>,
    /// `buckets[256 * level + digit]`: events whose time has `last`'s
    /// digits above `level` and `digit` at it, a digit above `last`'s (so
    /// the buckets of digit 0 stay empty).
    buckets: Vec<Vec<Entry<E>>>,
    /// Bit `i % 64` of word `i / 64` set: bucket `i` is not empty.
    occupied: [u64; BUCKETS / 64],
    /// Bit `w` set: word `w` of `occupied` is not zero. The lowest bucket
    /// is then two bit scans away, where finding the first non-zero word
    /// scanned up to a dozen words on every pop (a task end waits at
    /// level 2, words 8 to 11).
    words: u32,
    /// The time of the last event popped: no event is due before it.
    last: u64,
    len: usize,
    cancelled: Cancelled,
    next_seq: u64,
    popped: u64,
}

impl<E> Default for Queue<E> {
    fn default() -> Self {
        Queue {
            due: VecDeque::new(),
            buckets: std::iter::repeat_with(Vec::new).take(BUCKETS).collect(),
            occupied: [0; BUCKETS / 64],
            words: 0,
            last: 0,
            len: 0,
            cancelled: Cancelled::default(),
            next_seq: 0,
            popped: 0,
        }
    }
}

impl<E> Queue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Queue<E> {
        Queue::default()
    }

    /// The current virtual time: that of the last event popped.
    pub fn now(&self) -> SimTime {
        SimTime(self.last)
    }

    /// Events delivered so far (cancelled ones not included).
    pub fn delivered(&self) -> u64 {
        self.popped
    }

    /// Events waiting, cancelled ones included until they surface.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == self.cancelled.len()
    }

    /// Schedules `event` at `time`. A time in the past is moved to now: the
    /// clock never runs backwards. Inlined: every task start schedules its
    /// end, and a call costs as much as the filing.
    #[inline(always)]
    pub fn schedule(&mut self, time: SimTime, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        let entry = Entry { time: time.max(self.now()), seq, event };
        if entry.time.0 == self.last {
            // The newest sequence number: `due` stays in order.
            self.due.push_back(entry);
        } else {
            self.file(entry);
        }
        EventId(seq)
    }

    /// Schedules `event` `delay` from now.
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) -> EventId {
        self.schedule(self.now() + delay, event)
    }

    /// Cancels a scheduled event. Cancelling an event that already ran or
    /// was already cancelled is a logic error of the caller; it is caught
    /// in debug builds.
    pub fn cancel(&mut self, id: EventId) {
        debug_assert!(id.0 < self.next_seq, "cancelling an event never scheduled");
        let fresh = self.cancelled.insert(id.0);
        debug_assert!(fresh, "event cancelled twice");
    }

    /// The time of the next live event, if any.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.front()
    }

    /// Removes the next live event and advances the clock to its time.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.pop_until(SimTime(u64::MAX))
    }

    /// Moves the clock to `t` with no event (real agents report between
    /// events); the clock never runs backwards. The waiting events are
    /// filed again relative to the new time, and any due before `t` is
    /// due at `t`. Rare (a report from an agent), so simply done.
    pub fn advance_to(&mut self, t: SimTime) {
        if t.0 <= self.last {
            return;
        }
        let mut entries: Vec<Entry<E>> = self.due.drain(..).collect();
        for bucket in &mut self.buckets {
            entries.append(bucket);
        }
        self.occupied = [0; BUCKETS / 64];
        self.words = 0;
        self.last = t.0;
        entries.sort_unstable_by_key(|e| e.seq);
        for mut entry in entries {
            if entry.time <= t {
                entry.time = t;
                self.due.push_back(entry);
            } else {
                self.file(entry);
            }
        }
    }

    /// Removes the next live event if it is due at or before `limit`.
    pub fn pop_until(&mut self, limit: SimTime) -> Option<(SimTime, E)> {
        loop {
            if let Some(entry) = self.due.front() {
                if !self.cancelled.is_empty() && self.cancelled.remove(entry.seq) {
                    self.len -= 1;
                    self.due.pop_front();
                    continue;
                }
                if self.last > limit.0 {
                    return None;
                }
                let entry = self.due.pop_front()?;
                self.len -= 1;
                self.popped += 1;
                return Some((entry.time, entry.event));
            }
            let bucket = self.lowest_bucket()?;
            if let [only] = self.buckets[bucket].as_slice() {
                // Most often the lowest bucket holds one event: the
                // earliest, delivered straight from there.
                if only.time > limit {
                    return None;
                }
                let entry = self.buckets[bucket].pop()?;
                self.emptied(bucket);
                self.len -= 1;
                if !self.cancelled.is_empty() && self.cancelled.remove(entry.seq) {
                    continue;
                }
                self.last = entry.time.0;
                self.popped += 1;
                return Some((entry.time, entry.event));
            }
            if !self.make_due(bucket, limit) {
                return None;
            }
        }
    }

    /// With nothing due, moves the events of the earliest time, in the
    /// lowest non-empty `bucket`, to `due` if that time is at or before
    /// `limit`, and returns whether it did or discarded events. One pass over the lowest bucket finds the time;
    /// the bucket's other events then move down once, instead of a first
    /// pass finding the earliest event, a second one spreading the rest
    /// and the next pop scanning again. If every event at that time was
    /// cancelled they are dropped and the clock stays: only a delivered
    /// event moves it, as every event scheduled from then on must be at or
    /// after it.
    fn make_due(&mut self, bucket: usize, limit: SimTime) -> bool {
        let entries = &mut self.buckets[bucket];
        // Level 0 buckets have every digit of their time fixed.
        let time = if bucket < DIGITS {
            entries[0].time.0
        } else {
            entries.iter().map(|e| e.time.0).min().unwrap_or(u64::MAX)
        };
        if time > limit.0 {
            return false;
        }
        if !self.cancelled.is_empty() && entries.iter().all(|e| e.time.0 != time || self.cancelled.contains(e.seq)) {
            let before = entries.len();
            let cancelled = &mut self.cancelled;
            entries.retain(|e| e.time.0 != time || !cancelled.remove(e.seq));
            self.len -= before - entries.len();
            if entries.is_empty() {
                self.emptied(bucket);
            }
            return true;
        }
        self.last = time;
        if bucket < DIGITS {
            // All of the bucket is due, in sequence order; it keeps a small
            // buffer (as `spread` does), and `due` its own.
            let entries = &mut self.buckets[bucket];
            entries.sort_unstable_by_key(|e| e.seq);
            self.due.extend(entries.drain(..));
            entries.shrink_to(KEPT_BUFFER);
            self.emptied(bucket);
        } else {
            self.spread(bucket);
        }
        true
    }

    /// The time of the earliest live event. Cancelled events found first
    /// are discarded; the clock stays, as nothing is delivered. Only for
    /// peeking (real agents): popping finds the time in
    /// [`Queue::make_due`].
    fn front(&mut self) -> Option<SimTime> {
        loop {
            let (at, entry) = match self.due.front() {
                Some(entry) => (None, entry),
                None => {
                    let bucket = self.lowest_bucket()?;
                    let entries = &self.buckets[bucket];
                    let mut pos = 0;
                    for (i, e) in entries.iter().enumerate().skip(1) {
                        if e.key() < entries[pos].key() {
                            pos = i;
                        }
                    }
                    (Some((bucket, pos)), &entries[pos])
                }
            };
            if self.cancelled.is_empty() || !self.cancelled.remove(entry.seq) {
                return Some(entry.time);
            }
            self.len -= 1;
            match at {
                None => drop(self.due.pop_front()),
                Some((bucket, pos)) => drop(self.take(bucket, pos)),
            }
        }
    }

    /// Removes the entry at `pos` of `bucket`, leaving `last` as it is.
    fn take(&mut self, bucket: usize, pos: usize) -> Entry<E> {
        let entries = &mut self.buckets[bucket];
        let entry = entries.swap_remove(pos);
        if entries.is_empty() {
            self.emptied(bucket);
        }
        entry
    }

    /// Moves the events of `bucket` down after `last` changed to a time
    /// inside it. None of them goes back to `bucket`: they share `last`'s
    /// digits from its level up.
    fn spread(&mut self, bucket: usize) {
        debug_assert!(self.due.is_empty(), "a bucket is spread only when nothing is due");
        let mut entries = std::mem::take(&mut self.buckets[bucket]);
        for entry in entries.drain(..) {
            if entry.time.0 == self.last {
                self.due.push_back(entry);
            } else {
                self.file(entry);
            }
        }
        // A small buffer stays for the bucket's next turn; a large one goes
        // with its events. Each bucket fills once per turn of its digit,
        // and buffers kept at the largest each ever held add up over a long
        // run: most of the year benchmark's peak memory, far above the
        // events in flight.
        if entries.capacity() <= KEPT_BUFFER {
            self.buckets[bucket] = entries;
        }
        self.emptied(bucket);
        if self.due.len() > 1 {
            self.due.make_contiguous().sort_unstable_by_key(|e| e.seq);
        }
    }

    /// Puts an event later than `last` in its bucket. Inlined: a spread
    /// files every event of a bucket, and a call costs as much as the
    /// filing.
    #[inline(always)]
    fn file(&mut self, entry: Entry<E>) {
        let differ = entry.time.0 ^ self.last;
        debug_assert!(entry.time.0 > self.last && differ != 0);
        let level = (63 - differ.leading_zeros()) / DIGIT_BITS;
        let digit = (entry.time.0 >> (level * DIGIT_BITS)) as usize % DIGITS;
        let bucket = level as usize * DIGITS + digit;
        self.buckets[bucket].push(entry);
        self.occupied[bucket / 64] |= 1 << (bucket % 64);
        self.words |= 1 << (bucket / 64);
    }

    /// The lowest non-empty bucket, if any.
    fn lowest_bucket(&self) -> Option<usize> {
        if self.words == 0 {
            return None;
        }
        let word = self.words.trailing_zeros() as usize;
        Some(64 * word + self.occupied[word].trailing_zeros() as usize)
    }

    /// Marks `bucket`, just emptied, as empty.
    fn emptied(&mut self, bucket: usize) {
        let word = &mut self.occupied[bucket / 64];
        *word &= !(1 << (bucket % 64));
        if *word == 0 {
            self.words &= !(1 << (bucket / 64));
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::RngExt;

    use super::*;
    use crate::sim::streams::{Concern, rng};

    #[test]
    fn events_come_out_by_time_then_insertion_order() {
        let mut q = Queue::new();
        q.schedule(SimTime(20), "c");
        q.schedule(SimTime(10), "a");
        q.schedule(SimTime(20), "d");
        q.schedule(SimTime(10), "b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, [(SimTime(10), "a"), (SimTime(10), "b"), (SimTime(20), "c"), (SimTime(20), "d")]);
        assert_eq!(q.now(), SimTime(20));
        assert_eq!(q.delivered(), 4);
    }

    #[test]
    fn a_spread_bucket_gives_back_a_large_buffer() {
        let mut q = Queue::new();
        // 10 000 events in one bucket (level 2, digit 1), in time order.
        for i in 0..10_000 {
            q.schedule(SimTime(65_536 + i), i);
        }
        assert_eq!(q.buckets[2 * DIGITS + 1].len(), 10_000);
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, i)| i)).collect();
        assert_eq!(order, (0..10_000).collect::<Vec<_>>());
        let largest = q.buckets.iter().map(Vec::capacity).max();
        assert_eq!(largest, Some(KEPT_BUFFER), "the level-1 buckets took 256 events each, and kept their room");
    }

    #[test]
    fn cancelled_marks_span_only_the_events_since_the_oldest_marked() {
        let mut c = Cancelled::default();
        assert!(c.insert(6_400) && c.insert(640_000) && c.insert(640));
        assert!(!c.insert(640), "already marked");
        assert_eq!((c.first, c.bits.len(), c.len()), (10, 9_991, 3));
        assert!(c.contains(640) && !c.contains(641) && !c.contains(5) && !c.contains(u64::MAX));
        assert!(c.remove(640) && !c.remove(640));
        assert_eq!((c.first, c.bits.len()), (100, 9_901), "the words before 6 400's went");
        assert!(c.remove(640_000) && c.remove(6_400) && c.is_empty());
        assert!(c.bits.is_empty());
        assert!(c.insert(5) && c.contains(5));
        assert_eq!((c.first, c.bits.len()), (0, 1));
    }

    #[test]
    fn cancelled_events_never_surface() {
        let mut q = Queue::new();
        let a = q.schedule(SimTime(5), 'a');
        q.schedule(SimTime(6), 'b');
        let c = q.schedule(SimTime(7), 'c');
        q.cancel(a);
        q.cancel(c);
        assert!(!q.is_empty());
        assert_eq!(q.peek_time(), Some(SimTime(6)));
        assert_eq!(q.pop(), Some((SimTime(6), 'b')));
        assert_eq!(q.pop(), None);
        assert!(q.is_empty());
        assert_eq!(q.delivered(), 1);
    }

    #[test]
    fn the_queue_agrees_with_a_sorted_map() {
        // Schedules, cancellations, pops and pops up to a limit at random,
        // with many equal times and delays from zero to hours: every pop
        // must be the earliest live (time, insertion) pair, and a pop up
        // to a limit nothing when that pair is later.
        let mut r = rng(3, Concern::Allocation);
        let mut q = Queue::new();
        let mut model = std::collections::BTreeMap::new();
        let mut ids = Vec::new();
        for round in 0..20_000u32 {
            match r.random_range(0..10) {
                0..5 => {
                    let delay = match r.random_range(0..3) {
                        0 => 0,
                        1 => r.random_range(0..20),
                        _ => r.random_range(0..10_000_000),
                    };
                    let id = q.schedule_in(SimDuration(delay), round);
                    model.insert((q.now() + SimDuration(delay), round), ());
                    ids.push((id, q.now() + SimDuration(delay), round));
                }
                5 if !ids.is_empty() => {
                    let (id, time, value) = ids.swap_remove(r.random_range(0..ids.len()));
                    if model.remove(&(time, value)).is_some() {
                        q.cancel(id);
                    }
                }
                6 => {
                    // A limit at, before or after the earliest event.
                    let limit = q.now() + SimDuration(r.random_range(0..5_000_000));
                    let expected = match model.first_key_value() {
                        Some((&(time, _), _)) if time <= limit => model.pop_first().map(|(k, ())| k),
                        _ => None,
                    };
                    assert_eq!(q.pop_until(limit), expected, "round {round}");
                }
                _ => {
                    let expected = model.pop_first().map(|(k, ())| k);
                    assert_eq!(q.pop(), expected, "round {round}");
                }
            }
            assert_eq!(q.peek_time(), model.first_key_value().map(|(k, _)| k.0));
        }
        while let Some((k, ())) = model.pop_first() {
            assert_eq!(q.pop(), Some(k));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn the_clock_never_runs_backwards() {
        let mut q = Queue::new();
        q.schedule(SimTime(100), 1);
        assert_eq!(q.pop(), Some((SimTime(100), 1)));
        q.schedule(SimTime(50), 2);
        q.schedule_in(SimDuration(5), 3);
        assert_eq!(q.pop_until(SimTime(99)), None);
        assert_eq!(q.pop_until(SimTime(100)), Some((SimTime(100), 2)));
        assert_eq!(q.pop_until(SimTime(200)), Some((SimTime(105), 3)));
    }

    #[test]
    fn advancing_the_clock_keeps_later_events_in_order_and_makes_earlier_ones_due_now() {
        let mut q = Queue::new();
        for (t, e) in [(5_000, 1), (70_000, 2), (40_000, 3), (1 << 40, 4), (70_000, 5)] {
            q.schedule(SimTime(t), e);
        }
        let cancelled = q.schedule(SimTime(69_999), 6);
        q.cancel(cancelled);
        q.advance_to(SimTime(30_000));
        assert_eq!(q.now(), SimTime(30_000));
        q.schedule(SimTime(10), 7);
        q.advance_to(SimTime(20_000));
        assert_eq!(q.now(), SimTime(30_000), "never back");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        let expected = [(30_000, 1), (30_000, 7), (40_000, 3), (70_000, 2), (70_000, 5), (1 << 40, 4)];
        assert_eq!(order, expected.map(|(t, e)| (SimTime(t), e)));
    }
}
