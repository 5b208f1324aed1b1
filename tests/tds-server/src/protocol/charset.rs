//! Single-byte text for `char`/`varchar`: the server announces SQL_Latin1_General_CP1_CI_AS, whose
//! code page 1252 is what tiberius encodes and decodes for those columns.

/// 0x80..=0x9F of code page 1252; the five unassigned bytes map to the same C1 control, as in the
/// WHATWG table tiberius uses.
const HIGH: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}', '\u{2C6}',
    '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}', '\u{90}', '\u{2018}',
    '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}', '\u{2DC}', '\u{2122}', '\u{161}',
    '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

pub fn decode_1252(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9f => HIGH[(b - 0x80) as usize],
            _ => b as char,
        })
        .collect()
}

/// Characters outside code page 1252 become `?`, as SQL Server stores them in a varchar.
pub fn encode_1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c as u32 {
            0..=0x7f | 0xa0..=0xff => c as u8,
            _ => HIGH.iter().position(|h| *h == c).map_or(b'?', |i| 0x80 + i as u8),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_latin1_and_the_1252_extras() {
        let text = "Ñandú €‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ ÿ";
        assert_eq!(decode_1252(&encode_1252(text)), text);
        assert_eq!(encode_1252("€"), vec![0x80]);
    }

    #[test]
    fn unmappable_characters_become_question_marks() {
        assert_eq!(decode_1252(&encode_1252("a😀字")), "a??");
    }
}
