//! 2-opt: reverse a sub-path, which replaces two edges by two others. It removes the crossings
//! nearest neighbour leaves behind.

use super::{Best, Move, Sequencer};

/// A 2-opt move: reverse `path[lo..=hi]`; `touched` are the end nodes of the changed edges.
pub(super) struct Reversal {
    gain: f64,
    lo: usize,
    hi: usize,
    touched: [usize; 4],
}

impl Reversal {
    #[inline]
    fn new(gain: f64, lo: usize, hi: usize, touched: [usize; 4]) -> Self {
        Self {
            gain,
            lo,
            hi,
            touched,
        }
    }
}

impl Move for Reversal {
    #[inline]
    fn gain(&self) -> f64 {
        self.gain
    }
}

impl Sequencer {
    /// The best 2-opt move that gives `a` a new, shorter edge.
    ///
    /// A 2-opt move that gains makes at least one of its two new edges shorter than the removed
    /// edge it shares an end with, so looking from every node, on both sides, at the nodes closer
    /// than its current neighbour there, finds every improving move.
    #[inline]
    pub(super) fn find_reversal(&self, a: usize) -> Option<Reversal> {
        let pa = self.pos[a];
        let mut best = Best::default();
        if pa < self.n {
            self.reversals_after(a, pa, &mut best);
        }
        // The depot has no predecessor and never moves.
        if pa > 0 {
            self.reversals_before(a, pa, &mut best);
        }
        if pa == self.n {
            self.reversals_to_the_end(a, pa, &mut best);
        }
        best.0
    }

    /// Successor side: replace (a, b = succ a) and (c, succ c) by (a, c) and (b, succ c).
    #[inline]
    fn reversals_after(&self, a: usize, pa: usize, best: &mut Best<Reversal>) {
        let last = self.n;
        let b = self.path[pa + 1];
        let ab = self.d(a, b);
        self.for_each_within(a, ab, |c| {
            let g = ab - self.d(a, c);
            let pc = self.pos[c];
            if pc > pa + 1 {
                // a b .. c e  ->  a c .. b e; at the end of the path there is no e.
                let (gain, e) = if pc < last {
                    let e = self.path[pc + 1];
                    (g + self.d(c, e) - self.d(b, e), e)
                } else {
                    (g, c)
                };
                best.offer(Reversal::new(gain, pa + 1, pc, [a, b, c, e]));
            } else if pc + 1 < pa {
                // c e .. a b  ->  c a .. e b
                let e = self.path[pc + 1];
                let gain = g + self.d(c, e) - self.d(e, b);
                best.offer(Reversal::new(gain, pc + 1, pa, [a, b, c, e]));
            }
        });
    }

    /// Predecessor side: replace (b = pred a, a) and (pred c, c) by (a, c) and (b, pred c).
    #[inline]
    fn reversals_before(&self, a: usize, pa: usize, best: &mut Best<Reversal>) {
        let b = self.path[pa - 1];
        let ba = self.d(b, a);
        self.for_each_within(a, ba, |c| {
            let g = ba - self.d(a, c);
            let pc = self.pos[c];
            if pc > pa + 1 {
                // b a .. e c  ->  b e .. a c
                let e = self.path[pc - 1];
                let gain = g + self.d(e, c) - self.d(b, e);
                best.offer(Reversal::new(gain, pa, pc - 1, [a, b, c, e]));
            } else if pc > 0 && pc + 1 < pa {
                // e c .. b a  ->  e b .. c a
                let e = self.path[pc - 1];
                let gain = g + self.d(e, c) - self.d(e, b);
                best.offer(Reversal::new(gain, pc, pa - 1, [a, b, c, e]));
            }
        });
    }

    /// The end of the path: c e .. a -> c a .. e only removes (c, e), so the move is found from c
    /// (successor side). A node that has just become the last one is not on the queue, though, so
    /// `a` (at `pa`, the last position) looks for it too rather than leaving it to the next full
    /// round.
    #[inline]
    fn reversals_to_the_end(&self, a: usize, pa: usize, best: &mut Best<Reversal>) {
        for &c in self.neighbours(a) {
            let pc = self.pos[c];
            if pc + 1 < pa {
                let e = self.path[pc + 1];
                let gain = self.d(c, e) - self.d(c, a);
                best.offer(Reversal::new(gain, pc + 1, pa, [a, c, e, e]));
            }
        }
    }

    #[inline]
    pub(super) fn apply_reversal(&mut self, m: &Reversal) {
        self.reverse(m.lo, m.hi);
        for v in m.touched {
            self.touch(v);
        }
    }
}
