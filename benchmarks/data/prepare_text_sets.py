"""Rebuild fortunes.csv and austen.csv (benchmarks/data/) from two Debian packages.

    apt-get download fortunes r-cran-janeaustenr        # no root needed, nothing installed
    python benchmarks/data/prepare_text_sets.py \\
        --fortunes-deb fortunes_1%3a1.99.1-7.3_all.deb \\
        --janeaustenr-deb r-cran-janeaustenr_1.0.0-1_all.deb

Only the standard library and ``dpkg-deb`` (to unpack the .deb files) are used; in
particular no R and no R reader package: the Jane Austen texts sit in an R lazy-load
database (data/Rdata.rdb + Rdata.rdx), read here by the small R-serialization reader below.

fortunes.csv (columns text,label): one row per fortune of eight topic files of the
``fortunes`` package (fortune-mod's inoffensive cookies; the offensive ones are in another
package, ``fortunes-off``, not used). Label = the topic file's name. Backspace overstrikes
removed, whitespace collapsed to single spaces, fortunes shorter than 20 or longer than
1,000 characters dropped, texts that occur more than once dropped (all copies if they are
in two topics), at most 600 per topic (seeded sample), rows shuffled (seed 0).

austen.csv (columns text,label): passages of Jane Austen's six novels from
``r-cran-janeaustenr``. Label = the novel's title. The lines of each novel are joined into
paragraphs (blank lines separate them), headings (CHAPTER ..., VOLUME ..., all-caps lines)
dropped, Gutenberg's _italics_ marks removed, paragraphs split into sentences; a passage is
1 to 3 consecutive sentences of one paragraph, grown until it has at least 60 characters;
passages over 400 characters dropped. 500 passages per novel (seeded sample, without
overlap: the passages are disjoint by construction), rows shuffled (seed 0).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import random
import re
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 0

FORTUNE_TOPICS = ["computers", "science", "politics", "law", "education", "food", "love", "sports"]
FORTUNE_CAP = 600
FORTUNE_MIN, FORTUNE_MAX = 20, 1000

AUSTEN_BOOKS = {  # object in the R package -> label
    "sensesensibility": "Sense and Sensibility",
    "prideprejudice": "Pride and Prejudice",
    "mansfieldpark": "Mansfield Park",
    "emma": "Emma",
    "northangerabbey": "Northanger Abbey",
    "persuasion": "Persuasion",
}
AUSTEN_PER_BOOK = 500
AUSTEN_MIN, AUSTEN_MAX, AUSTEN_MAX_SENTENCES = 60, 400, 3


def unpack(deb: Path, dest: Path) -> Path:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
    return dest


def write_csv(rows: list[tuple[str, str]], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(rows)


# =========================================================================== fortunes
def clean(text: str) -> str:
    # overstrike: "_<BS>x" (underline) or "x<BS>x" (bold) -> "x"
    text = re.sub(r"[^\x08]\x08", "", text).replace("\x08", "")
    return re.sub(r"\s+", " ", text).strip()


def read_fortunes(path: Path) -> list[str]:
    raw = path.read_bytes()
    try:
        txt = raw.decode("utf-8")
    except UnicodeDecodeError:
        txt = raw.decode("latin-1")
    return [clean(e) for e in re.split(r"^%[ \t]*$", txt, flags=re.M)]


def build_fortunes(root: Path) -> list[tuple[str, str]]:
    folder = root / "usr" / "share" / "games" / "fortunes"
    per_topic: dict[str, list[str]] = {}
    seen: dict[str, set[str]] = {}
    for topic in FORTUNE_TOPICS:
        kept = []
        for t in read_fortunes(folder / topic):
            if FORTUNE_MIN <= len(t) <= FORTUNE_MAX:
                kept.append(t)
                seen.setdefault(t, set()).add(topic)
        per_topic[topic] = kept
    rng = random.Random(SEED)
    rows = []
    for topic in FORTUNE_TOPICS:
        texts, done = [], set()
        for t in per_topic[topic]:  # unique within the topic, and in no other topic
            if len(seen[t]) == 1 and t not in done:
                texts.append(t)
                done.add(t)
        if len(texts) > FORTUNE_CAP:
            texts = rng.sample(texts, FORTUNE_CAP)
        rows += [(t, topic) for t in texts]
    rng.shuffle(rows)
    return rows


# =========================================================================== R data
class RReader:
    """Just enough of R's XDR serialization format (version 2/3) for the package's data:
    character, integer, double and logical vectors, lists, pairlists, symbols, names."""

    def __init__(self, b: bytes):
        self.b, self.i, self.refs = b, 0, []

    def int(self) -> int:
        v = struct.unpack_from(">i", self.b, self.i)[0]
        self.i += 4
        return v

    def length(self) -> int:
        n = self.int()
        if n == -1:  # long vector
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        return n

    def top(self):
        if self.b[:2] != b"X\n":
            raise ValueError("not an XDR R serialization")
        self.i = 2
        version = self.int()
        self.int(), self.int()  # writer's and minimal reader's R versions
        if version == 3:
            self.i += 4 + struct.unpack_from(">i", self.b, self.i)[0]  # native encoding
        return self.item()

    def item(self):
        flags = self.int()
        t, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if t == 254:  # NILVALUE
            return None
        if t == 255:  # REFSXP
            k = flags >> 8 or self.int()
            return self.refs[k - 1]
        if t in (253, 252, 251, 250, 242, 241):  # global/empty/base env, unbound, missing
            return None
        if t == 1:  # SYMSXP
            sym = ("sym", self.item())
            self.refs.append(sym)
            return sym
        if t in (2, 6, 239, 240):  # pairlist / language: a list of (tag, value)
            out = []
            while True:
                if has_attr:
                    self.item()
                tag = self.item() if has_tag else None
                out.append((tag[1] if tag else None, self.item()))
                flags = self.int()
                t, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
                if t == 254:
                    return out
                if t not in (2, 6, 239, 240):
                    self.i -= 4
                    out.append((None, self.item()))
                    return out
        if t == 9:  # CHARSXP
            n = self.int()
            if n == -1:
                return None
            s = self.b[self.i:self.i + n].decode("utf-8", "replace")
            self.i += n
            return s
        if t in (10, 13):  # logical, integer
            n = self.length()
            v = list(struct.unpack_from(f">{n}i", self.b, self.i))
            self.i += 4 * n
        elif t == 14:  # double
            n = self.length()
            v = list(struct.unpack_from(f">{n}d", self.b, self.i))
            self.i += 8 * n
        elif t in (16, 19, 20):  # character vector, list, expression
            v = [self.item() for _ in range(self.length())]
        else:
            raise ValueError(f"R type {t} not supported")
        if has_attr:
            attrs = dict(self.item())
            if "names" in attrs:
                return dict(zip(attrs["names"], v))
        return v


def read_lazyload(base: Path) -> dict:
    """The objects of an R lazy-load database (base.rdx index + base.rdb values)."""
    index = RReader(gzip.decompress(base.with_suffix(".rdx").read_bytes())).top()
    rdb = base.with_suffix(".rdb").read_bytes()
    out = {}
    for name, (offset, length) in index["variables"].items():
        chunk = rdb[offset:offset + length]  # 4-byte length, then zlib
        out[name] = RReader(zlib.decompress(chunk[4:])).top()
    return out


# =========================================================================== Austen
ABBREV = re.compile(r"\b(Mr|Mrs|Messrs|Dr|St|Col|Capt|Sir)\.$")
HEADING = re.compile(r"^(CHAPTER|VOLUME|Chapter|Volume)\b|^[^a-z]*$")


def paragraphs(lines: list[str]) -> list[str]:
    paras, cur = [], []
    for line in [*lines, ""]:
        line = (line or "").strip()
        if line:
            cur.append(line)
            continue
        if cur:
            paras.append(" ".join(cur))
            cur = []
    out = []
    for p in paras:
        p = re.sub(r"\s+", " ", p.replace("_", "")).strip()
        if p and not HEADING.search(p):
            out.append(p)
    return out


def sentences(para: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])([\"'\u201d\u2019]*)\s+(?=[\"'\u201c\u2018(]*[A-Z])", para)
    out: list[str] = []
    # re.split with a group gives text, quote, text, quote, ...: glue the quotes back
    chunks = [parts[i] + (parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)]
    for c in chunks:
        if out and ABBREV.search(out[-1]):
            out[-1] = f"{out[-1]} {c}"
        else:
            out.append(c)
    return [s.strip() for s in out if s.strip()]


def passages(lines: list[str]) -> list[str]:
    out = []
    for p in paragraphs(lines):
        cur: list[str] = []
        for s in sentences(p):
            cur.append(s)
            text = " ".join(cur)
            if len(text) >= AUSTEN_MIN:
                if len(text) <= AUSTEN_MAX:
                    out.append(text)
                cur = []
            elif len(cur) == AUSTEN_MAX_SENTENCES:
                cur = []  # three sentences and still short: dropped
    return out


def build_austen(root: Path) -> list[tuple[str, str]]:
    data = read_lazyload(root / "usr" / "lib" / "R" / "site-library" / "janeaustenr" / "data" / "Rdata")
    rng = random.Random(SEED)
    rows = []
    for obj, title in AUSTEN_BOOKS.items():
        ps = passages(data[obj])
        rows += [(t, title) for t in rng.sample(ps, AUSTEN_PER_BOOK)]
    rng.shuffle(rows)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fortunes-deb", type=Path, help="fortunes_*.deb (Debian package 'fortunes')")
    ap.add_argument("--janeaustenr-deb", type=Path, help="r-cran-janeaustenr_*.deb")
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    if not args.fortunes_deb and not args.janeaustenr_deb:
        ap.error("give --fortunes-deb and/or --janeaustenr-deb")
    with tempfile.TemporaryDirectory(prefix="al-textsets-") as tmp:
        for deb, build, name in ((args.fortunes_deb, build_fortunes, "fortunes.csv"),
                                 (args.janeaustenr_deb, build_austen, "austen.csv")):
            if deb is None:
                continue
            rows = build(unpack(deb, Path(tmp) / name))
            write_csv(rows, args.out / name)
            counts: dict[str, int] = {}
            for _, lab in rows:
                counts[lab] = counts.get(lab, 0) + 1
            print(f"{args.out / name}: {len(rows)} rows; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
