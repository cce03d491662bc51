//! Timestamp order: counting violations, and an optional bounded sort window.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, Utc};

/// Which way the source lists messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[non_exhaustive]
pub enum TimeOrder {
    /// Page 1 holds the most recent messages (the guest history's order).
    #[default]
    NewestFirst,
    /// Page 1 holds the oldest messages.
    OldestFirst,
}

impl TimeOrder {
    /// The order a page's timestamps show: compares each message's time with the next one's
    /// and goes with the clear majority (more than two thirds of the unequal pairs). `None`
    /// when the page has fewer than two timed messages, all times are equal, or neither way
    /// wins (a shuffled page says nothing).
    pub fn detect<I>(times: I) -> Option<TimeOrder>
    where
        I: IntoIterator<Item = Option<DateTime<Utc>>>,
    {
        let (mut up, mut down) = (0u64, 0u64);
        let mut prev: Option<DateTime<Utc>> = None;
        for t in times.into_iter().flatten() {
            if let Some(p) = prev {
                match t.cmp(&p) {
                    std::cmp::Ordering::Greater => up += 1,
                    std::cmp::Ordering::Less => down += 1,
                    std::cmp::Ordering::Equal => {}
                }
            }
            prev = Some(t);
        }
        let pairs = up + down;
        if pairs == 0 {
            None
        } else if up * 3 > pairs * 2 {
            Some(Self::OldestFirst)
        } else if down * 3 > pairs * 2 {
            Some(Self::NewestFirst)
        } else {
            None
        }
    }

    /// True when `next` may follow `prev` in this order (equal times are in order).
    pub fn in_order(self, prev: DateTime<Utc>, next: DateTime<Utc>) -> bool {
        match self {
            Self::NewestFirst => next <= prev,
            Self::OldestFirst => next >= prev,
        }
    }
}

/// Counts messages whose time breaks the expected order relative to the previous message.
#[derive(Debug)]
pub(crate) struct OrderTracker {
    order: TimeOrder,
    last: Option<DateTime<Utc>>,
    pub(crate) violations: u64,
}

impl OrderTracker {
    pub(crate) fn new(order: TimeOrder) -> Self {
        Self {
            order,
            last: None,
            violations: 0,
        }
    }

    /// Records a time; returns false when it is out of order.
    pub(crate) fn observe(&mut self, time: Option<DateTime<Utc>>) -> bool {
        let Some(t) = time else { return true };
        let ok = self.last.is_none_or(|prev| self.order.in_order(prev, t));
        if !ok {
            self.violations += 1;
        }
        self.last = Some(t);
        ok
    }
}

/// Re-orders items displaced by less than `capacity` positions: holds up to `capacity` items
/// and releases the one that comes first in the expected order. Memory is bounded by
/// `capacity`; an item displaced further than that comes out late (and is counted by the
/// output-side [`OrderTracker`]).
#[derive(Debug)]
pub(crate) struct SortWindow<T> {
    order: TimeOrder,
    capacity: usize,
    seq: u64,
    heap: BinaryHeap<Reverse<Keyed<T>>>,
}

#[derive(Debug)]
struct Keyed<T> {
    key: (i64, u64),
    item: T,
}

impl<T> PartialEq for Keyed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<T> Eq for Keyed<T> {}
impl<T> PartialOrd for Keyed<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Keyed<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl<T> SortWindow<T> {
    pub(crate) fn new(order: TimeOrder, capacity: usize) -> Self {
        Self {
            order,
            capacity: capacity.max(1),
            seq: 0,
            heap: BinaryHeap::new(),
        }
    }

    /// Adds an item; returns the item that leaves the window, if the window is full.
    /// Items without a time keep their arrival position relative to their neighbours.
    pub(crate) fn push(&mut self, time: Option<DateTime<Utc>>, item: T) -> Option<T> {
        let micros = time
            .map(|t| t.timestamp_micros())
            .unwrap_or(match self.order {
                TimeOrder::OldestFirst => i64::MIN,
                TimeOrder::NewestFirst => i64::MAX,
            });
        let primary = match self.order {
            TimeOrder::OldestFirst => micros,
            TimeOrder::NewestFirst => micros.checked_neg().unwrap_or(i64::MAX),
        };
        self.seq += 1;
        self.heap.push(Reverse(Keyed {
            key: (primary, self.seq),
            item,
        }));
        if self.heap.len() > self.capacity {
            self.pop()
        } else {
            None
        }
    }

    /// Releases the next item (draining at the end).
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.heap.pop().map(|Reverse(k)| k.item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u32) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(i64::from(s), 0)
    }

    #[test]
    fn tracker_counts_violations_in_both_orders() {
        let mut asc = OrderTracker::new(TimeOrder::OldestFirst);
        for s in [1, 2, 2, 5, 3, 6] {
            asc.observe(t(s));
        }
        assert_eq!(asc.violations, 1);
        let mut desc = OrderTracker::new(TimeOrder::NewestFirst);
        for s in [9, 8, 8, 9, 1] {
            desc.observe(t(s));
        }
        assert_eq!(desc.violations, 1);
        assert!(
            desc.observe(None),
            "messages without a time are not violations"
        );
    }

    #[test]
    fn detection_follows_the_clear_majority_of_the_page() {
        let times = |s: &[u32]| s.iter().map(|&x| t(x)).collect::<Vec<_>>();
        assert_eq!(
            TimeOrder::detect(times(&[1, 2, 3, 5, 4, 6, 7])),
            Some(TimeOrder::OldestFirst)
        );
        assert_eq!(
            TimeOrder::detect(times(&[9, 8, 8, 6, 7, 5, 1])),
            Some(TimeOrder::NewestFirst)
        );
        assert_eq!(
            TimeOrder::detect(times(&[1, 3, 2, 4, 3, 5])),
            None,
            "no clear way"
        );
        assert_eq!(TimeOrder::detect(times(&[4, 4, 4])), None, "all equal");
        assert_eq!(TimeOrder::detect(times(&[4])), None);
        assert_eq!(
            TimeOrder::detect([t(1), None, t(2), None, t(3)]),
            Some(TimeOrder::OldestFirst),
            "untimed messages are skipped"
        );
    }

    #[test]
    fn sort_window_repairs_small_displacements() {
        let mut w = SortWindow::new(TimeOrder::OldestFirst, 3);
        let mut out = Vec::new();
        for s in [1, 3, 2, 4, 6, 5, 7, 8] {
            if let Some(x) = w.push(t(s), s) {
                out.push(x);
            }
        }
        while let Some(x) = w.pop() {
            out.push(x);
        }
        assert_eq!(out, vec![1, 2, 3, 4, 5, 6, 7, 8]);

        let mut w = SortWindow::new(TimeOrder::NewestFirst, 2);
        let mut out = Vec::new();
        for s in [9, 7, 8, 5, 6] {
            if let Some(x) = w.push(t(s), s) {
                out.push(x);
            }
        }
        while let Some(x) = w.pop() {
            out.push(x);
        }
        assert_eq!(out, vec![9, 8, 7, 6, 5]);
    }

    #[test]
    fn equal_times_keep_arrival_order() {
        let mut w = SortWindow::new(TimeOrder::OldestFirst, 10);
        for (i, s) in [1, 1, 1].into_iter().enumerate() {
            assert!(w.push(t(s), i).is_none());
        }
        assert_eq!((w.pop(), w.pop(), w.pop()), (Some(0), Some(1), Some(2)));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any sequence whose items are displaced by less than the window comes out sorted.
        #[test]
        fn sort_window_sorts_bounded_displacements(n in 1usize..200, window in 1usize..20, seed in any::<u64>()) {
            // Build a sorted sequence, then swap neighbours at most `window - 1` apart.
            let mut items: Vec<u32> = (0..n as u32).collect();
            let mut x = seed | 1;
            for i in 0..n {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                let j = (i + (x as usize % window)).min(n - 1);
                if j.saturating_sub(i) < window / 2 + 1 { items.swap(i, j); }
            }
            let displaced_ok = items.iter().enumerate().all(|(i, &v)| (i as i64 - i64::from(v)).unsigned_abs() < window as u64);
            prop_assume!(displaced_ok);
            let mut w = SortWindow::new(TimeOrder::OldestFirst, window);
            let mut out = Vec::new();
            for v in items {
                if let Some(o) = w.push(DateTime::from_timestamp(i64::from(v), 0), v) { out.push(o); }
            }
            while let Some(o) = w.pop() { out.push(o); }
            let sorted: Vec<u32> = (0..n as u32).collect();
            prop_assert_eq!(out, sorted);
        }
    }
}
