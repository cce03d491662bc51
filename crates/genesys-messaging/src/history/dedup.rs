//! Duplicate detection in bounded memory.
//!
//! # Why a window of recent ids is enough
//! The history is paged by offset (`pageNumber`, `pageSize`) and the export hands pages on in
//! page order. A message can then appear twice only when the listing *shifts* between the
//! fetches of two pages: if `k` messages are added (or removed) ahead of a page boundary while
//! the export runs, up to `k` messages at that boundary are served again on the next page, at
//! most `k` positions after their first appearance. So a duplicate is always close behind its
//! original, and remembering the last `W` ids finds every duplicate as long as fewer than `W`
//! messages were added or removed while the export ran (the report's `total_changes` says when
//! the listing moved). No map of every message is kept: memory is `O(W)` whatever the export
//! size. The default `W` is `page_size × (concurrency + 2)`, at least 1,024.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// The last `capacity` ids seen.
#[derive(Debug)]
pub(crate) struct DedupWindow {
    capacity: usize,
    order: VecDeque<Arc<str>>,
    members: HashSet<Arc<str>>,
}

impl DedupWindow {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            order: VecDeque::with_capacity(capacity),
            members: HashSet::with_capacity(capacity),
        }
    }

    /// True when `id` is new (and remembers it); false for a duplicate within the window.
    pub(crate) fn insert(&mut self, id: &str) -> bool {
        if self.members.contains(id) {
            return false;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.members.remove(&oldest);
        }
        let id: Arc<str> = Arc::from(id);
        self.order.push_back(Arc::clone(&id));
        self.members.insert(id);
        true
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_duplicates_within_the_window_and_stays_bounded() {
        let mut w = DedupWindow::new(3);
        assert!(w.insert("a"));
        assert!(w.insert("b"));
        assert!(!w.insert("a"));
        assert!(w.insert("c"));
        assert!(w.insert("d")); // evicts a
        assert_eq!(w.len(), 3);
        assert!(w.insert("a"), "a left the window");
        assert!(!w.insert("d"));
    }

    #[test]
    fn shifted_page_boundaries_are_caught() {
        // 10 messages, pages of 4; 2 messages inserted at the head after page 1 was read.
        let before: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
        let after: Vec<String> = ["n1", "n2"]
            .iter()
            .map(|s| s.to_string())
            .chain(before.iter().cloned())
            .collect();
        let served: Vec<&String> = before[0..4]
            .iter()
            .chain(after[4..8].iter())
            .chain(after[8..12].iter())
            .collect();
        let mut w = DedupWindow::new(4 * 3);
        let dupes = served.iter().filter(|id| !w.insert(id)).count();
        assert_eq!(dupes, 2, "m2 and m3 were served twice");
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Against a full map: every repeat within the window is found, nothing new is dropped.
        #[test]
        fn matches_a_full_map_within_the_window(ids in proptest::collection::vec(0u8..40, 0..300), cap in 1usize..64) {
            let mut w = DedupWindow::new(cap);
            let mut last_seen: std::collections::HashMap<u8, usize> = Default::default();
            let mut admitted: Vec<u8> = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let new = w.insert(&id.to_string());
                // Distance in admitted ids since this id was last admitted.
                let recent = last_seen.get(id).is_some_and(|&at| admitted.len() - at <= cap);
                prop_assert_eq!(new, !recent, "position {}", i);
                if new {
                    last_seen.insert(*id, admitted.len());
                    admitted.push(*id);
                }
            }
            prop_assert!(w.len() <= cap);
        }
    }
}
