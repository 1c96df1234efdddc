#!/usr/bin/env python3
"""Derive crates/core/data/icd10cm.tsv from the ICD-10-CM tabular list.

Usage:
    python3 make_icd10cm.py SOURCE [OUTPUT]

SOURCE is the wheel of the PyPI package simple_icd_10_cm 1.5.0
(simple_icd_10_cm-1.5.0-py3-none-any.whl, fetched with
`pip download --no-deps simple_icd_10_cm==1.5.0`), or the tabular XML taken out of it
(simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml). That XML is the CDC/CMS
ICD-10-CM FY2026 tabular list, April 1, 2026 update, unchanged. OUTPUT defaults to
icd10cm.tsv beside this script.

The subset (see docs/ICD10.md):
  * every 3-character category, in every chapter;
  * every 4-character subcategory or code (one character after the dot), except in
    chapter 19 (injury and poisoning, S00-T88) and chapter 20 (external causes, V00-Y99),
    where only the categories are kept.

Standard library only (Python 3.11). The output is deterministic for a given SOURCE.
"""

import hashlib
import re
import sys
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

XML_IN_WHEEL = "simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml"
PACKAGE = "simple_icd_10_cm 1.5.0 (MIT License, (c) 2021-2026 Stefano Travasci)"
RELEASE = "ICD-10-CM FY2026 tabular list, April 1, 2026 update (CDC NCHS / CMS)"
# Chapters whose 4-character codes are left out: injuries need a 7th character
# (S/T codes are only valid at 7 characters) and external causes are not diagnoses.
CATEGORIES_ONLY_CHAPTERS = {19, 20}
MAX_LENGTH = 4  # characters of the code, without the dot


def read_source(path: Path) -> tuple[bytes, list[str]]:
    """The XML bytes and header lines saying where they came from."""
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as wheel:
            xml = wheel.read(XML_IN_WHEEL)
        return xml, [
            f"# Obtained from the PyPI package {PACKAGE},",
            f"#   which ships the CDC tabular XML as {XML_IN_WHEEL};",
            f"#   wheel {path.name},",
            f"#   sha256 {digest}.",
        ]
    return raw, [f"# Read from {path.name}, sha256 {digest}."]


def clean_title(text: str) -> str:
    title = " ".join(text.split())
    if not title:
        raise ValueError("empty title")
    return unicodedata.normalize("NFC", title)


def collect(root: ET.Element) -> dict[str, str]:
    rows: dict[str, str] = {}

    def walk(diag: ET.Element, chapter: int) -> None:
        code = (diag.findtext("name") or "").strip()
        length = len(code.replace(".", ""))
        if length > MAX_LENGTH:
            return
        if length == 3 or chapter not in CATEGORIES_ONLY_CHAPTERS:
            if code in rows:
                raise ValueError(f"duplicate code {code}")
            rows[code] = clean_title(diag.findtext("desc") or "")
        for child in diag.findall("diag"):
            walk(child, chapter)

    for chapter in root.findall("chapter"):
        number = int(chapter.findtext("name") or "0")
        for section in chapter.findall("section"):
            for diag in section.findall("diag"):
                walk(diag, number)
    return rows


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    source = Path(argv[1])
    output = Path(argv[2]) if len(argv) == 3 else Path(__file__).with_name("icd10cm.tsv")
    xml, origin_lines = read_source(source)
    root = ET.fromstring(xml)
    version = (root.findtext("version") or "?").strip()
    rows = collect(root)
    for code in rows:
        # A letter, two letters or digits (QA0 has a letter second), then optionally a dot
        # and one letter or digit.
        if not re.fullmatch(r"[A-Z][0-9A-Z]{2}(\.[0-9A-Z])?", code):
            raise ValueError(f"unexpected code form {code!r}")
    lines = [
        "# ICD-10-CM codes and titles: the subset Carevault bundles for coding diagnoses.",
        f"# Source: {RELEASE}; XML <version> {version}.",
        "# Licence: ICD-10-CM is published by the US Government (CDC's National Center for",
        "#   Health Statistics and CMS) and is in the public domain.",
        *origin_lines,
        "# Subset: every 3-character category, plus every 4-character code outside chapters 19",
        "#   (S00-T88) and 20 (V00-Y99). See docs/ICD10.md.",
        "# Regenerate: python3 crates/core/data/make_icd10cm.py simple_icd_10_cm-1.5.0-py3-none-any.whl",
        f"# Rows: {len(rows)}. Format: code<TAB>title, UTF-8, sorted by code.",
    ]
    lines += [f"{code}\t{rows[code]}" for code in sorted(rows)]
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} codes to {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
