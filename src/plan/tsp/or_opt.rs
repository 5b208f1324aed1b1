//! Or-opt: move a segment of 1-3 consecutive stops elsewhere on the path, in either orientation.
//! It rescues the stops nearest neighbour strands far from their neighbours.

use super::{Best, Move, Sequencer};

/// An Or-opt move: take `path[s..=e]` out and put it back between `path[t]` and `path[t + 1]`
/// (or after `path[t]` when it is last), reversed if `reversed`.
pub(super) struct Relocation {
    gain: f64,
    s: usize,
    e: usize,
    t: usize,
    reversed: bool,
}

impl Move for Relocation {
    #[inline]
    fn gain(&self) -> f64 {
        self.gain
    }
}

impl Sequencer {
    /// Gain of removing `path[s..=e]` and closing the gap.
    fn removal_gain(&self, s: usize, e: usize) -> f64 {
        let prev = self.path[s - 1];
        let first = self.path[s];
        if e < self.n {
            let last = self.path[e];
            let next = self.path[e + 1];
            self.d(prev, first) + self.d(last, next) - self.d(prev, next)
        } else {
            self.d(prev, first)
        }
    }

    /// The Or-opt move of `path[s..=e]` into the gap after position `t`, in the better of its
    /// two orientations; `removal` is the segment's removal gain.
    fn relocation(&self, s: usize, e: usize, t: usize, removal: f64) -> Relocation {
        let (first, last) = (self.path[s], self.path[e]);
        let x = self.path[t];
        let (forward, backward) = if t < self.n {
            let y = self.path[t + 1];
            let xy = self.d(x, y);
            (
                self.d(x, first) + self.d(last, y) - xy,
                self.d(x, last) + self.d(first, y) - xy,
            )
        } else {
            (self.d(x, first), self.d(x, last))
        };
        let reversed = backward < forward;
        Relocation {
            gain: removal - if reversed { backward } else { forward },
            s,
            e,
            t,
            reversed,
        }
    }

    /// The segments of 1-3 stops with node `a` at one end, as (start, end) positions.
    fn segments_at(&self, a: usize) -> impl Iterator<Item = (usize, usize)> + use<> {
        let (pa, last) = (self.pos[a], self.n);
        [(0, 0), (0, 1), (1, 0), (0, 2), (2, 0)]
            .into_iter()
            .filter(move |&(before, after)| pa > before && pa + after <= last)
            .map(move |(before, after)| (pa - before, pa + after))
    }

    /// The best Or-opt move that gives `a` a new, shorter edge.
    ///
    /// Or-opt removes the edges (p, f), (l, n) around a segment f..l and (x, y) where it goes in.
    /// By the usual Lin-Kernighan argument (some rotation of the exchange has only positive
    /// partial gains), an improving move has f's new edge shorter than max(d(p, f), removal gain),
    /// or the new edge of the insertion point joined to l shorter than d(x, y). So `a` is tried
    /// both as a segment end, against the nodes within that radius, and as an end of the
    /// insertion edge, against the segment ends within its length; both orientations each time.
    #[inline]
    pub(super) fn find_relocation(&self, a: usize) -> Option<Relocation> {
        let last = self.n;
        let pa = self.pos[a];
        let mut best = Best::default();
        let mut consider = |s: usize, e: usize, t: usize, removal: f64| {
            // The gaps at either side of the segment would leave the path as it is.
            if t + 1 < s || t > e {
                best.offer(self.relocation(s, e, t, removal));
            }
        };

        // No segment is skipped for a small removal gain: a segment of two or three stops can
        // bridge a gap (removal gain below zero) and still be worth moving to a wider gap.
        for (s, e) in self.segments_at(a) {
            let removal = self.removal_gain(s, e);
            // The edge `a` loses on the outer side of the segment (none at the end of the path).
            let lost = if pa == s {
                self.d(self.path[s - 1], a)
            } else if e < last {
                self.d(a, self.path[e + 1])
            } else {
                0.0
            };
            self.for_each_within(a, lost.max(removal), |c| {
                let pc = self.pos[c];
                consider(s, e, pc, removal);
                if pc > 0 {
                    consider(s, e, pc - 1, removal);
                }
            });
        }

        // Insertion into the edge (pred a, a), then into (a, succ a).
        for t in [pa.checked_sub(1), (pa < last).then_some(pa)]
            .into_iter()
            .flatten()
        {
            let gap = self.d(self.path[t], self.path[t + 1]);
            self.for_each_within(a, gap, |c| {
                for (s, e) in self.segments_at(c) {
                    consider(s, e, t, self.removal_gain(s, e));
                }
            });
        }
        best.0
    }

    #[inline]
    pub(super) fn apply_relocation(&mut self, m: &Relocation) {
        let (s, e, t) = (m.s, m.e, m.t);
        let len = e - s + 1;
        let prev = self.path[s - 1];
        let next = (e < self.n).then(|| self.path[e + 1]);
        let x = self.path[t];
        let y = (t < self.n).then(|| self.path[t + 1]);
        let (first, last) = (self.path[s], self.path[e]);

        let (lo, hi, start) = if t > e {
            self.path[s..=t].rotate_left(len);
            (s, t, t + 1 - len)
        } else {
            self.path[t + 1..=e].rotate_right(len);
            (t + 1, e, t + 1)
        };
        for p in lo..=hi {
            self.pos[self.path[p]] = p;
        }
        if m.reversed {
            self.reverse(start, start + len - 1);
        }

        for v in [Some(prev), next, Some(x), y, Some(first), Some(last)]
            .into_iter()
            .flatten()
        {
            self.touch(v);
        }
    }
}
