#!/usr/bin/env bash
# get_corpus.sh OUTDIR - the King James Bible corpus for braid's bundled model.
#
# Dumps the King James Version from Debian's bible-kjv / bible-kjv-text
# packages (the text is public domain; the packaging and the `bible` program
# are GPL-2+), normalises it into running text and writes
#
#   OUTDIR/kjv_raw.txt   the unmodified dump of `bible -l 10000 gen1:1-rev22:21`
#   OUTDIR/train.txt     every chapter except the held-out ones
#   OUTDIR/val.txt       every 20th chapter of the canon (the 20th, 40th, ...;
#                        59 of 1189 chapters, interleaved through all books)
#   OUTDIR/MANIFEST      package version, sizes and sha256 of the three files
#   OUTDIR/SHA256SUMS    the same sums for `sha256sum -c`
#
# Format of train.txt / val.txt: one chapter per paragraph; its first line is
# the header ("Genesis 1", "1 Kings 3", "Song of Solomon 2"), then one verse
# per line WITHOUT its verse number, runs of spaces collapsed; chapters are
# separated by one empty line and the file ends with a newline.  Verse
# numbers are dropped because they carry no language (a model this small
# only learns to count badly, and generations read better without them); the
# line break still marks each verse and the headers keep the book/chapter
# structure, so a prompt such as "Psalms 23\n" works.
#
# Where the package is not installed: as root it is apt-get installed;
# otherwise `apt-get download` + `dpkg -x` unpack it under OUTDIR/.pkg (removed
# afterwards) and the unpacked `bible` binary is run from there.  Needs network for that step
# only; the GPU machine gets the finished OUTDIR instead.
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=$1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# the dump of bible-kjv-text 4.38 (Debian bookworm); another version may differ
EXPECT_RAW_SHA=6f74f5589333c56c263963e6347dba662bae2d96861302e690aaae0b4a855eda

BIBLE=()
if command -v bible >/dev/null 2>&1 && [ -f /usr/lib/bible.data ]; then
    BIBLE=(bible)
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing bible-kjv with apt-get" >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y bible-kjv >&2; then
        apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y bible-kjv >&2
    fi
    BIBLE=(bible)
else
    echo "unpacking bible-kjv with apt-get download + dpkg -x into $OUT/.pkg" >&2
    rm -rf "$OUT/.pkg"
    mkdir -p "$OUT/.pkg/debs"
    (cd "$OUT/.pkg/debs" && apt-get download bible-kjv bible-kjv-text >&2)
    for deb in "$OUT"/.pkg/debs/*.deb; do dpkg -x "$deb" "$OUT/.pkg/root"; done
    BIBLE=("$OUT/.pkg/root/usr/bin/bible" -p "$OUT/.pkg/root/usr/lib")
fi

VERSION=$(dpkg-query -W -f '${Version}' bible-kjv-text 2>/dev/null || true)
if [ -z "$VERSION" ]; then
    VERSION=$(ls "$OUT"/.pkg/debs/bible-kjv-text_*.deb 2>/dev/null | sed -n 's/.*bible-kjv-text_\([^_]*\)_.*/\1/p' | head -1)
fi

"${BIBLE[@]}" -l 10000 "gen1:1-rev22:21" </dev/null >"$OUT/kjv_raw.txt"
RAW_SHA=$(sha256sum "$OUT/kjv_raw.txt" | cut -d' ' -f1)
if [ "$RAW_SHA" != "$EXPECT_RAW_SHA" ]; then
    echo "warning: kjv_raw.txt sha256 $RAW_SHA differs from the dump of bible-kjv-text 4.38 ($EXPECT_RAW_SHA)" >&2
fi

python3 - "$OUT" <<'PY'
import re, sys
out = sys.argv[1]
raw = open(f"{out}/kjv_raw.txt", encoding="ascii").read()
chapters, cur = [], None
verse = re.compile(r"^  (\d+) (.*)$")
header = re.compile(r"^(\S.*) (\d+)$")
for line in raw.split("\n"):
    if not line:
        continue
    m = verse.match(line)
    if m:
        assert cur is not None and int(m.group(1)) == len(cur) , line
        cur.append(" ".join(m.group(2).split()))
        continue
    m = header.match(line)
    assert m, f"unexpected line: {line!r}"
    cur = [line]
    chapters.append(cur)
assert len(chapters) == 1189, len(chapters)
assert sum(len(c) - 1 for c in chapters) == 31102
train = [c for i, c in enumerate(chapters) if i % 20 != 19]
val = [c for i, c in enumerate(chapters) if i % 20 == 19]
for name, part in (("train", train), ("val", val)):
    with open(f"{out}/{name}.txt", "w", encoding="ascii", newline="\n") as f:
        f.write("\n\n".join("\n".join(c) for c in part) + "\n")
    print(f"{name}: {len(part)} chapters, {sum(len(c) - 1 for c in part)} verses; first {part[0][0]!r}, last {part[-1][0]!r}")
PY

{
    echo "source: Debian bible-kjv-text ${VERSION:-unknown} via: bible -l 10000 gen1:1-rev22:21"
    echo "split: chapter i (0-based, canonical order) is held out iff i % 20 == 19"
    for f in kjv_raw.txt train.txt val.txt; do
        printf '%s  %s bytes  sha256 %s\n' "$f" "$(wc -c <"$OUT/$f" | tr -d ' ')" "$(sha256sum "$OUT/$f" | cut -d' ' -f1)"
    done
} >"$OUT/MANIFEST"
(cd "$OUT" && sha256sum kjv_raw.txt train.txt val.txt >SHA256SUMS)
rm -rf "$OUT/.pkg"
cat "$OUT/MANIFEST"
