//! CSV text split into records the way the Arrow reader splits it (`,` between fields, `"` around
//! them, empty lines skipped), keeping the line each record starts on. Only used to say where a
//! file is broken: the reader's own errors count records, not the lines an editor shows.

/// One record of CSV text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// The line it starts on, from 1.
    pub line: usize,
    /// Its first byte's offset in the text.
    pub start: usize,
    /// Its bytes, without the line end.
    pub bytes: &'a [u8],
}

impl Record<'_> {
    /// How many fields it has.
    pub fn fields(&self) -> usize {
        self.field_at(self.bytes.len()) + 1
    }

    /// The index of the field holding byte `offset` of the record.
    pub fn field_at(&self, offset: usize) -> usize {
        let mut quoted = false;
        let mut field = 0;
        for &b in &self.bytes[..offset.min(self.bytes.len())] {
            match b {
                b'"' => quoted = !quoted,
                b',' if !quoted => field += 1,
                _ => {}
            }
        }
        field
    }

    /// The line holding byte `offset` of the record (a quoted field may span lines).
    pub fn line_at(&self, offset: usize) -> usize {
        self.line + line_ends(&self.bytes[..offset.min(self.bytes.len())])
    }

    /// Its fields as text, unquoted (invalid UTF-8 shown as `�`).
    pub fn texts(&self) -> Vec<String> {
        let mut fields = vec![String::new()];
        let mut quoted = false;
        let mut raw = Vec::new();
        let mut i = 0;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b'"' if quoted && self.bytes.get(i + 1) == Some(&b'"') => {
                    raw.push(b'"');
                    i += 1;
                }
                b'"' => quoted = !quoted,
                b',' if !quoted => {
                    *fields.last_mut().expect("one field") = String::from_utf8_lossy(&raw).into_owned();
                    fields.push(String::new());
                    raw.clear();
                }
                b => raw.push(b),
            }
            i += 1;
        }
        *fields.last_mut().expect("one field") = String::from_utf8_lossy(&raw).into_owned();
        fields
    }
}

/// Line ends in `bytes`: `\n`, and `\r` not followed by `\n`.
fn line_ends(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

/// The records of `text`, the header first.
pub fn records(text: &[u8]) -> Records<'_> {
    Records {
        text,
        pos: 0,
        line: 1,
    }
}

/// Iterator over the records of CSV text.
pub struct Records<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        // Empty lines are no records.
        while let Some(&b) = self.text.get(self.pos) {
            if b != b'\n' && b != b'\r' {
                break;
            }
            if b == b'\n' || self.text.get(self.pos + 1) != Some(&b'\n') {
                self.line += 1;
            }
            self.pos += 1;
        }
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let mut quoted = false;
        let mut end = self.text.len();
        for (i, &b) in self.text[start..].iter().enumerate() {
            match b {
                b'"' => quoted = !quoted,
                b'\n' | b'\r' if !quoted => {
                    end = start + i;
                    break;
                }
                _ => {}
            }
        }
        let record = Record {
            line: self.line,
            start,
            bytes: &self.text[start..end],
        };
        self.line += line_ends(record.bytes);
        self.pos = end;
        Some(record)
    }
}

/// The first data record whose field count differs from the header's: (record, fields, header's).
pub fn ragged_record(text: &[u8]) -> Option<(Record<'_>, usize, usize)> {
    let mut all = records(text);
    let header = all.next()?.fields();
    all.map(|r| {
        let n = r.fields();
        (r, n, header)
    })
    .find(|&(_, n, h)| n != h)
}

/// The line data record `index` (from 0, after the header) starts on.
pub fn line_of_record(text: &[u8], index: usize) -> Option<usize> {
    records(text).nth(index + 1).map(|r| r.line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_their_lines_through_quotes_and_blank_lines() {
        let text = b"a,b\r\n1,\"x\ny\"\n\n2,\"q,\"\"z\"\n";
        let all: Vec<_> = records(text).collect();
        assert_eq!(all.len(), 3);
        assert_eq!(all[1].line, 2);
        assert_eq!(all[1].texts(), ["1", "x\ny"]);
        assert_eq!(all[2].line, 5);
        assert_eq!(all[2].texts(), ["2", "q,\"z"]);
        assert_eq!(line_of_record(text, 1), Some(5));
    }

    #[test]
    fn a_record_with_another_field_count_is_found() {
        let text = b"a,b\n1,2\n3,4,5\n";
        let (record, fields, header) = ragged_record(text).unwrap();
        assert_eq!((record.line, fields, header), (3, 3, 2));
        assert!(ragged_record(b"a,b\n1,\"2,3\"\n").is_none());
    }

    #[test]
    fn a_byte_is_placed_in_its_field_and_line() {
        let text = b"a,b,c\n1,\"x\nPe\xf1a\",3\n";
        let record = records(text).nth(1).unwrap();
        let offset = text.iter().position(|&b| b == 0xf1).unwrap() - record.start;
        assert_eq!(record.field_at(offset), 1);
        assert_eq!(record.line_at(offset), 3);
    }
}
