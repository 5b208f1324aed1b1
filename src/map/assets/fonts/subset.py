#!/usr/bin/env python3
"""Makes the embedded font subsets from Debian's Noto packages.

Needs `apt-get install fonts-noto-core=20201225-1 fonts-noto-cjk=1:20220127+repack1-1` and
`pip install fonttools==4.68.0`; run from this folder: `python3 subset.py`.
"""
import subprocess
import tempfile

LATIN_SRC = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"
CJK_SRC = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # font 0: Noto Sans CJK JP

# Basic Latin, Latin-1 Supplement, Latin Extended-A, general punctuation, €, ™, arrows, U+FFFD.
LATIN = "U+0020-007E,U+00A0-017F,U+2010-2027,U+2030,U+2039-203A,U+20AC,U+2122,U+2190-2193,U+FFFD"
# CJK punctuation, hiragana, katakana (+ phonetic extensions), half- and full-width forms.
CJK_RANGES = "U+3000-303F,U+3040-309F,U+30A0-30FF,U+31F0-31FF,U+FF00-FFEF"


def common_hanzi():
    """GB 2312 level 1 (3755 common simplified hanzi), JIS X 0208 level 1 (2965 common kanji)
    and Big5's frequent characters (5401 traditional): 7174 ideographs in all."""
    chars = set()
    for hi in range(0xB0, 0xD8):  # GB 2312 level 1: rows 16-55
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for row in range(16, 48):  # JIS X 0208 level 1: rows 16-47
        for cell in range(1, 95):
            try:
                chars.add(bytes([row + 0xA0, cell + 0xA0]).decode("euc_jp"))
            except UnicodeDecodeError:
                pass
    for hi in range(0xA4, 0xC7):  # Big5 frequently used: A440-C67E
        for lo in list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)):
            if (hi, lo) <= (0xC6, 0x7E):
                try:
                    chars.add(bytes([hi, lo]).decode("big5"))
                except UnicodeDecodeError:
                    pass
    return sorted(chars)


COMMON = ["--layout-features=", "--no-hinting", "--name-IDs=*",
          "--notdef-outline", "--drop-tables+=GSUB,GPOS,GDEF,DSIG,VORG,vhea,vmtx"]


def run(args):
    print(" ".join(args))
    subprocess.run(args, check=True)


run(["pyftsubset", LATIN_SRC, f"--unicodes={LATIN}",
     "--output-file=NotoSans-Subset.ttf", *COMMON])
with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as f:
    f.write("".join(common_hanzi()))
    f.flush()
    run(["pyftsubset", CJK_SRC, "--font-number=0", f"--unicodes={CJK_RANGES}",
         f"--text-file={f.name}", "--output-file=NotoSansCJKjp-Subset.otf", *COMMON])
