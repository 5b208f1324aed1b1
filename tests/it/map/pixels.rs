//! Just enough PNG decoding to look at chromium's screenshots: 8-bit RGB or RGBA, not interlaced.

use std::io::Read;

/// A decoded image: `rgb[(y * w + x)]`.
pub struct Image {
    pub w: usize,
    pub h: usize,
    pub rgb: Vec<[u8; 3]>,
}

impl Image {
    /// How many pixels of the rectangle `[x0, x1) x [y0, y1)` are exactly `color`.
    pub fn count(&self, color: [u8; 3], (x0, y0, x1, y1): (usize, usize, usize, usize)) -> usize {
        (y0..y1.min(self.h))
            .flat_map(|y| (x0..x1.min(self.w)).map(move |x| (x, y)))
            .filter(|(x, y)| self.rgb[y * self.w + x] == color)
            .count()
    }

    /// How many different colours the rectangle holds.
    pub fn colors(&self, (x0, y0, x1, y1): (usize, usize, usize, usize)) -> usize {
        let mut seen: Vec<[u8; 3]> = (y0..y1.min(self.h))
            .flat_map(|y| (x0..x1.min(self.w)).map(move |x| (x, y)))
            .map(|(x, y)| self.rgb[y * self.w + x])
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }
}

pub fn decode(png: &[u8]) -> Image {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let (mut pos, mut header, mut idat) = (8, None, Vec::new());
    while pos + 8 <= png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let (kind, data) = (&png[pos + 4..pos + 8], &png[pos + 8..pos + 8 + len]);
        match kind {
            b"IHDR" => header = Some(data.to_vec()),
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        pos += 12 + len;
    }
    let header = header.expect("IHDR");
    let w = u32::from_be_bytes(header[0..4].try_into().unwrap()) as usize;
    let h = u32::from_be_bytes(header[4..8].try_into().unwrap()) as usize;
    let bpp = match (header[8], header[9], header[12]) {
        (8, 2, 0) => 3,
        (8, 6, 0) => 4,
        other => panic!("unsupported PNG (depth, colour type, interlace) {other:?}"),
    };
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = w * bpp;
    let mut prev = vec![0u8; stride];
    let mut rgb = Vec::with_capacity(w * h);
    for y in 0..h {
        let line = &raw[y * (stride + 1)..(y + 1) * (stride + 1)];
        let mut cur = line[1..].to_vec();
        unfilter(line[0], &mut cur, &prev, bpp);
        rgb.extend(cur.chunks(bpp).map(|p| [p[0], p[1], p[2]]));
        prev = cur;
    }
    Image { w, h, rgb }
}

/// Undoes one scanline's PNG filter in place.
fn unfilter(filter: u8, cur: &mut [u8], prev: &[u8], bpp: usize) {
    for i in 0..cur.len() {
        let a = if i >= bpp { cur[i - bpp] } else { 0 };
        let (b, c) = (prev[i], if i >= bpp { prev[i - bpp] } else { 0 });
        cur[i] = cur[i].wrapping_add(match filter {
            0 => 0,
            1 => a,
            2 => b,
            3 => ((a as u16 + b as u16) / 2) as u8,
            4 => {
                let p = a as i16 + b as i16 - c as i16;
                let (pa, pb, pc) = ((p - a as i16).abs(), (p - b as i16).abs(), (p - c as i16).abs());
                if pa <= pb && pa <= pc {
                    a
                } else if pb <= pc {
                    b
                } else {
                    c
                }
            }
            f => panic!("bad PNG filter {f}"),
        });
    }
}
