//! The embedded fonts (src/map/assets/fonts): Noto Sans for Latin text, Noto Sans CJK JP for kana
//! and common ideographs, so a PNG prints `Ñ` and `東京` as written on any machine.
//!
//! Text is laid out glyph by glyph with each glyph's advance (no kerning or shaping): enough for
//! names and numbers, and the same widths serve the layout's collision checks and the PNG's drawing.

use std::sync::OnceLock;

use ttf_parser::{Face, GlyphId};

static LATIN: &[u8] = include_bytes!("../assets/fonts/NotoSans-Subset.ttf");
static CJK: &[u8] = include_bytes!("../assets/fonts/NotoSansCJKjp-Subset.otf");

/// The SVG's `font-family`: the embedded families first, so a viewer that has them draws what the
/// PNG does; the SVG's text is drawn by the viewer's fonts.
pub(crate) const SVG_FAMILIES: &str =
    "'Noto Sans', 'Noto Sans CJK JP', 'Noto Sans CJK', Helvetica, Arial, sans-serif";

/// Advance of the replacement box drawn for a character neither font has, in em.
const MISSING_ADVANCE: f64 = 0.6;

fn faces() -> &'static [Face<'static>; 2] {
    static FACES: OnceLock<[Face<'static>; 2]> = OnceLock::new();
    FACES.get_or_init(|| {
        // Both files are compiled in and parsed by the tests, so a failure is a build defect.
        let parse = |data| Face::parse(data, 0).expect("embedded font parses");
        [parse(LATIN), parse(CJK)]
    })
}

/// What one character draws as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Glyph {
    /// A glyph of the face `faces()[face]`.
    Outline { face: usize, id: GlyphId },
    /// No font has it: a hollow box, so the gap is visible.
    Missing,
}

/// One glyph of a laid-out run: where its origin is (px from the run's start) and what it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placed {
    pub x: f64,
    pub glyph: Glyph,
}

/// The glyph for `c`: Noto Sans first, then Noto Sans CJK; control characters are missing.
pub(crate) fn glyph(c: char) -> Glyph {
    if c.is_control() {
        return Glyph::Missing;
    }
    faces()
        .iter()
        .enumerate()
        .find_map(|(face, f)| f.glyph_index(c).map(|id| Glyph::Outline { face, id }))
        .unwrap_or(Glyph::Missing)
}

/// Advance of a glyph in px at font size `px`.
fn advance(g: Glyph, px: f64) -> f64 {
    match g {
        Glyph::Outline { face, id } => {
            let f = &faces()[face];
            let adv = f.glyph_hor_advance(id).unwrap_or(0);
            f64::from(adv) * px / f64::from(f.units_per_em())
        }
        Glyph::Missing => MISSING_ADVANCE * px,
    }
}

/// Lays out `text` at size `px`: each glyph's origin, and the run's total width.
pub(crate) fn layout(text: &str, px: f64) -> (Vec<Placed>, f64) {
    let mut x = 0.0;
    let placed = text
        .chars()
        .map(|c| {
            let glyph = glyph(c);
            let p = Placed { x, glyph };
            x += advance(glyph, px);
            p
        })
        .collect();
    (placed, x)
}

/// Width of `text` in px at size `px`.
pub(crate) fn width(text: &str, px: f64) -> f64 {
    text.chars().map(|c| advance(glyph(c), px)).sum()
}

/// Where the baseline goes below a line's vertical middle, in em: halfway between Noto Sans'
/// ascender and descender, as SVG's `dominant-baseline="central"` places it.
pub(crate) fn baseline_shift() -> f64 {
    let f = &faces()[0];
    (f64::from(f.ascender()) + f64::from(f.descender())) / 2.0 / f64::from(f.units_per_em())
}

/// The face a [`Glyph::Outline`] belongs to, for its outline and scale.
pub(crate) fn face(i: usize) -> &'static Face<'static> {
    &faces()[i]
}

/// Cuts text with "..." so it fits `max_w` px at size `px`.
pub(crate) fn fit(text: &str, px: f64, max_w: f64) -> String {
    if width(text, px) <= max_w {
        return text.to_string();
    }
    let room = max_w - width("...", px);
    let mut out = String::new();
    let mut w = 0.0;
    for c in text.chars() {
        w += advance(glyph(c), px);
        if w > room {
            break;
        }
        out.push(c);
    }
    out + "..."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_and_cjk_have_their_own_glyphs() {
        let outline = |c| match glyph(c) {
            Glyph::Outline { face, id } => (face, id),
            Glyph::Missing => panic!("{c:?} has no glyph"),
        };
        assert_eq!(outline('N').0, 0);
        assert_eq!(outline('Ñ').0, 0, "Latin-1 in Noto Sans");
        assert_ne!(outline('Ñ'), outline('N'));
        assert_eq!(outline('ő').0, 0, "Latin Extended-A");
        for c in "東京日本語のカタカナ台北简体".chars() {
            assert_eq!(outline(c).0, 1, "{c} in Noto Sans CJK");
        }
        assert_ne!(outline('東'), outline('京'));
    }

    #[test]
    fn characters_outside_the_subsets_are_missing() {
        for c in ['한', '\u{1}', 'Ж', '𠀀'] {
            assert_eq!(glyph(c), Glyph::Missing, "{c:?}");
        }
        assert_eq!(width("한", 10.0), MISSING_ADVANCE * 10.0);
    }

    #[test]
    fn widths_scale_and_fit_cuts_to_the_room() {
        let w = width("Parañaque", 10.0);
        assert!(w > 30.0 && w < 60.0, "{w}");
        assert!((width("Parañaque", 20.0) - 2.0 * w).abs() < 1e-9);
        let (placed, total) = layout("ab", 10.0);
        assert_eq!(placed[0].x, 0.0);
        assert!((total - width("ab", 10.0)).abs() < 1e-9);
        assert_eq!(fit("short", 10.0, 100.0), "short");
        let cut = fit("a rather long store name", 10.0, 60.0);
        assert!(cut.ends_with("...") && width(&cut, 10.0) <= 60.0, "{cut}");
        assert!(baseline_shift() > 0.3 && baseline_shift() < 0.45);
    }
}
