//! The pure rules of uploaded documents: what a file is, judged by its first bytes
//! and never by its name or the type the browser claims; the size limit; a safe name for the
//! download; and a best-effort page count for PDFs. No I/O: callers pass the bytes.
//!
//! Decisions recorded here:
//!
//! - **Accepted**: PDF, PNG and JPEG, nothing else. An upload named `.pdf` that is really an
//!   executable, a script, an HTML page, an SVG image, a ZIP or Office file is refused with a
//!   message that says what it looks like.
//! - **PDF** is recognised by `%PDF-` and a version digit within the first 1024 bytes, the
//!   tolerance PDF readers have always applied (ISO 32000 wants it at offset 0). What comes
//!   before it must not be markup or script (`<html`, `<script`, `<svg`, …) and the file must
//!   not start with an executable header, so an HTML/PDF or executable/PDF polyglot is
//!   refused. Markup further inside a PDF is the PDF's own business: downloads are served as
//!   `application/pdf` with `Content-Disposition: attachment`, never rendered inline as HTML.
//! - **PNG** is its 8-byte signature; **JPEG** is `FF D8 FF` (start of image, then a marker).
//!   Executable headers and markup are checked first, at offset 0 and after an optional UTF-8
//!   byte-order mark and white space.

use std::fmt;

/// The upload size limit when none is configured: 20 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 20 * 1024 * 1024;

/// How far into the file `%PDF-` may start.
pub const PDF_HEADER_WINDOW: usize = 1024;

/// The sentence ending every refusal.
pub const ACCEPTED_TYPES: &str = "only PDF, PNG and JPEG files are accepted";

/// What an accepted document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    Pdf,
    Png,
    Jpeg,
}

impl DocumentKind {
    pub const ALL: &'static [DocumentKind] =
        &[DocumentKind::Pdf, DocumentKind::Png, DocumentKind::Jpeg];

    /// The text form, as stored: `pdf`, `png`, `jpeg`.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Png => "png",
            DocumentKind::Jpeg => "jpeg",
        }
    }

    /// Parses the stored text form (case and surrounding space ignored).
    pub fn parse(raw: &str) -> Result<DocumentKind, String> {
        let value = raw.trim();
        DocumentKind::ALL
            .iter()
            .copied()
            .find(|kind| value.eq_ignore_ascii_case(kind.as_str()))
            .ok_or_else(|| "must be one of the document kinds: pdf, png, jpeg".to_owned())
    }

    /// The media type to serve it with.
    pub fn mime(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Png => "image/png",
            DocumentKind::Jpeg => "image/jpeg",
        }
    }

    /// The file extension for downloads, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Png => "png",
            DocumentKind::Jpeg => "jpg",
        }
    }

    /// Whether it is an image (gets a thumbnail).
    pub fn is_image(self) -> bool {
        matches!(self, DocumentKind::Png | DocumentKind::Jpeg)
    }

    /// The extensions a name of this kind may already carry (replaced, not doubled, by
    /// [`safe_download_name`]).
    fn known_extensions(self) -> &'static [&'static str] {
        match self {
            DocumentKind::Pdf => &["pdf"],
            DocumentKind::Png => &["png"],
            DocumentKind::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG_SIGNATURE: &[u8] = &[0xFF, 0xD8, 0xFF];
const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Executable and archive headers at offset 0, with what to call them.
const BINARY_HEADERS: &[(&[u8], &str)] = &[
    (b"\x7fELF", "an executable program (ELF)"),
    (b"MZ", "a Windows executable (PE/MZ)"),
    (&[0xFE, 0xED, 0xFA, 0xCE], "a macOS executable (Mach-O)"),
    (&[0xFE, 0xED, 0xFA, 0xCF], "a macOS executable (Mach-O)"),
    (&[0xCE, 0xFA, 0xED, 0xFE], "a macOS executable (Mach-O)"),
    (&[0xCF, 0xFA, 0xED, 0xFE], "a macOS executable (Mach-O)"),
    (
        &[0xCA, 0xFE, 0xBA, 0xBE],
        "a macOS universal executable or Java class",
    ),
    (b"#!", "a script"),
    (b"PK\x03\x04", "a ZIP archive or Office document"),
    (b"PK\x05\x06", "a ZIP archive or Office document"),
    (b"PK\x07\x08", "a ZIP archive or Office document"),
    (
        &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
        "an Office document",
    ),
    (&[0xFF, 0xFE], "a UTF-16 text file"),
    (&[0xFE, 0xFF], "a UTF-16 text file"),
    (b"\0asm", "a WebAssembly module"),
];

/// Markup that makes a file an HTML page, an SVG image or XML when it leads the file or
/// precedes `%PDF-`, with what to call it. Compared case-insensitively.
const MARKUP: &[(&[u8], &str)] = &[
    (b"<!doctype html", "an HTML page"),
    (b"<html", "an HTML page"),
    (b"<head", "an HTML page"),
    (b"<body", "an HTML page"),
    (b"<script", "an HTML page with a script"),
    (b"<iframe", "an HTML page"),
    (b"<object", "an HTML page"),
    (b"<embed", "an HTML page"),
    (b"<meta", "an HTML page"),
    (b"<svg", "an SVG image"),
    (b"<?xml", "an XML or SVG file"),
    (b"<!doctype svg", "an SVG image"),
    (b"<!--", "an HTML or XML file"),
    (b"<!doctype", "an HTML or XML file"),
    (b"javascript:", "a script"),
];

fn refusal(what: &str) -> String {
    format!("is {what}: {ACCEPTED_TYPES}")
}

fn starts_with_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .get(..needle.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(needle))
}

/// The first markup marker anywhere in `bytes`, as (offset, what it is).
fn find_markup(bytes: &[u8]) -> Option<(usize, &'static str)> {
    (0..bytes.len()).find_map(|at| {
        MARKUP
            .iter()
            .find(|(marker, _)| starts_with_ignore_case(&bytes[at..], marker))
            .map(|(_, what)| (at, *what))
    })
}

/// Where `%PDF-` followed by a version digit starts within the first
/// [`PDF_HEADER_WINDOW`] bytes.
fn pdf_header_offset(bytes: &[u8]) -> Option<usize> {
    let window = &bytes[..bytes.len().min(PDF_HEADER_WINDOW + 6)];
    window
        .windows(6)
        .position(|w| w.starts_with(b"%PDF-") && w[5].is_ascii_digit())
        .filter(|at| *at < PDF_HEADER_WINDOW)
}

/// What an uploaded file is, by its content alone. The error is a message for the upload
/// field saying what the file looks like ("is an HTML page: only PDF, PNG and JPEG files are
/// accepted"); it never repeats the file's content.
pub fn sniff(bytes: &[u8]) -> Result<DocumentKind, String> {
    if bytes.is_empty() {
        return Err("is empty".into());
    }
    if bytes.starts_with(PNG_SIGNATURE) {
        return Ok(DocumentKind::Png);
    }
    if bytes.starts_with(JPEG_SIGNATURE) {
        return Ok(DocumentKind::Jpeg);
    }
    if let Some((_, what)) = BINARY_HEADERS
        .iter()
        .find(|(header, _)| bytes.starts_with(header))
    {
        return Err(refusal(what));
    }
    let text = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let text = &text[start..];
    if text.starts_with(b"#!") {
        return Err(refusal("a script"));
    }
    if let Some((_, what)) = MARKUP
        .iter()
        .find(|(marker, _)| starts_with_ignore_case(text, marker))
    {
        return Err(refusal(what));
    }
    if let Some(at) = pdf_header_offset(bytes) {
        if let Some((_, what)) = find_markup(&bytes[..at]) {
            return Err(format!(
                "is {what} with a PDF inside it (a polyglot): {ACCEPTED_TYPES}"
            ));
        }
        return Ok(DocumentKind::Pdf);
    }
    if text.starts_with(b"<") {
        return Err(refusal("an HTML or XML file"));
    }
    if text.starts_with(b"%!PS") {
        return Err(refusal("a PostScript file"));
    }
    if bytes.starts_with(b"GIF8") {
        return Err(refusal("a GIF image"));
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return Err(refusal("a WebP image"));
    }
    Err(format!("is not a PDF, PNG or JPEG file: {ACCEPTED_TYPES}"))
}

/// Checks an upload's size against `max` bytes (see [`DEFAULT_MAX_UPLOAD_BYTES`]).
pub fn check_size(len: u64, max: u64) -> Result<(), String> {
    if len == 0 {
        return Err("is empty".into());
    }
    if len > max {
        let (size, limit) = (human_size(len), human_size(max));
        return Err(if size == limit {
            format!("is larger than the limit of {limit}")
        } else {
            format!("is {size}, larger than the limit of {limit}")
        });
    }
    Ok(())
}

/// `20 MiB`, `1.5 MiB`, `300 KiB`, `12 bytes`: one decimal at most, trailing `.0` dropped.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if bytes >= size {
            // Tenths, rounded down so a file just over a limit never shows as the limit.
            let tenths = u128::from(bytes) * 10 / u128::from(size);
            return if tenths % 10 == 0 {
                format!("{} {unit}", tenths / 10)
            } else {
                format!("{}.{} {unit}", tenths / 10, tenths % 10)
            };
        }
    }
    if bytes == 1 {
        "1 byte".to_owned()
    } else {
        format!("{bytes} bytes")
    }
}

/// Longest stem of a download name, in characters (the extension comes on top).
pub const DOWNLOAD_STEM_MAX: usize = 100;

/// A file name for `Content-Disposition: attachment; filename="…"`, made from the name the
/// file was uploaded with:
///
/// - any path is dropped (`C:\scans\x.pdf`, `../../etc/passwd` keep only the last part);
/// - common accented Latin letters become plain ASCII (`Müller` → `Muller`, `ß` → `ss`);
///   other characters, control characters and everything but letters, digits, space, `-`,
///   `_`, `(` and `)` become `_`, and runs of them one `_`;
/// - the extension is forced to the kind's: a known extension of the kind is replaced
///   (`scan.JPEG` → `scan.jpg`), any other dot becomes `_` so no second extension survives
///   (`invoice.exe` as a PDF → `invoice_exe.pdf`);
/// - leading and trailing dots, spaces, `_` and `-` go, the stem is cut to
///   [`DOWNLOAD_STEM_MAX`] characters, an empty stem becomes `document`, and a Windows
///   device name (`CON`, `LPT1`, …) gets a `_`.
///
/// The result has no `"`, `\`, `;`, `%` or control character, so it can be put between
/// quotes in the header as it is.
pub fn safe_download_name(raw_name: &str, kind: DocumentKind) -> String {
    let base = raw_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(raw_name)
        .trim();
    let (stem, extension) = match base.rsplit_once('.') {
        Some((stem, extension))
            if kind
                .known_extensions()
                .iter()
                .any(|known| extension.trim().eq_ignore_ascii_case(known)) =>
        {
            (stem, kind.extension())
        }
        _ => (base, kind.extension()),
    };

    let mut clean = String::with_capacity(stem.len());
    for c in stem.chars() {
        let folded = fold_to_ascii(c);
        for c in folded.chars() {
            let keep = c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '(' | ')');
            let c = if keep { c } else { '_' };
            let previous = clean.chars().last();
            if (c == '_' && previous == Some('_')) || (c == ' ' && previous == Some(' ')) {
                continue;
            }
            clean.push(c);
        }
    }
    let trimmed = clean.trim_matches([' ', '_', '-', '.']);
    let mut stem: String = trimmed.chars().take(DOWNLOAD_STEM_MAX).collect();
    let cut = stem.trim_end_matches([' ', '_', '-']).len();
    stem.truncate(cut);
    if stem.is_empty() {
        stem = "document".to_owned();
    }
    const DEVICES: [&str; 22] = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
        "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    if DEVICES.iter().any(|d| stem.eq_ignore_ascii_case(d)) {
        stem.push('_');
    }
    format!("{stem}.{extension}")
}

/// A plain-ASCII spelling of common Latin letters with diacritics; other characters as they
/// are (the caller replaces what is not ASCII).
fn fold_to_ascii(c: char) -> String {
    let folded = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ă' | 'Ą' => "A",
        'æ' => "ae",
        'Æ' => "AE",
        'ç' | 'ć' | 'č' => "c",
        'Ç' | 'Ć' | 'Č' => "C",
        'ď' | 'đ' => "d",
        'Ď' | 'Đ' => "D",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ę' | 'Ě' => "E",
        'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' => "I",
        'ł' => "l",
        'Ł' => "L",
        'ñ' | 'ń' | 'ň' => "n",
        'Ñ' | 'Ń' | 'Ň' => "N",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ő' => "O",
        'œ' => "oe",
        'Œ' => "OE",
        'ř' => "r",
        'Ř' => "R",
        'ś' | 'š' | 'ş' => "s",
        'Ś' | 'Š' | 'Ş' => "S",
        'ß' => "ss",
        'ť' | 'ţ' => "t",
        'Ť' | 'Ţ' => "T",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ů' | 'Ű' => "U",
        'ý' | 'ÿ' => "y",
        'Ý' | 'Ÿ' => "Y",
        'ź' | 'ż' | 'ž' => "z",
        'Ź' | 'Ż' | 'Ž' => "Z",
        _ => return c.to_string(),
    };
    folded.to_owned()
}

/// A hint of how many pages a PDF has: the number of page objects (`/Type /Page`, not
/// `/Pages` nor `/PageLabel`), found by scanning the bytes without a PDF library. `None`
/// when none is found.
///
/// It is only a hint, for showing "3 pages" next to a document: page objects inside
/// compressed object streams (common since PDF 1.5) are not seen, so many modern files give
/// `None`; an incrementally updated file may count a replaced page twice; and a page-like
/// string inside a content stream would be counted. Never use it for a decision.
pub fn pdf_page_count_hint(bytes: &[u8]) -> Option<u32> {
    const TYPE: &[u8] = b"/Type";
    const PAGE: &[u8] = b"/Page";
    let mut count: u32 = 0;
    let mut at = 0usize;
    while let Some(found) = find(&bytes[at..], TYPE) {
        let mut next = at + found + TYPE.len();
        // `/Type /Page`, `/Type/Page`, with any PDF white space in between.
        while bytes
            .get(next)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0'))
        {
            next += 1;
        }
        if bytes[next..].starts_with(PAGE) {
            let after = bytes.get(next + PAGE.len());
            // A delimiter or white space ends the name; `/Pages`, `/PageLabel` go on.
            let name_ends = after.is_none_or(|b| {
                matches!(
                    b,
                    b' ' | b'\t'
                        | b'\r'
                        | b'\n'
                        | b'\x0c'
                        | b'\0'
                        | b'/'
                        | b'>'
                        | b'<'
                        | b'['
                        | b']'
                        | b'('
                        | b')'
                        | b'%'
                )
            });
            if name_ends {
                count = count.saturating_add(1);
            }
        }
        at = next;
    }
    (count > 0).then_some(count)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdf() -> Vec<u8> {
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
          2 0 obj\n<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>\nendobj\n\
          3 0 obj\n<< /Type /Page /Parent 2 0 R >>\nendobj\n\
          4 0 obj\n<</Type/Page/Parent 2 0 R>>\nendobj\n\
          5 0 obj\n<< /Type /PageLabel /S /D >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
            .to_vec()
    }

    fn png() -> Vec<u8> {
        let mut bytes = PNG_SIGNATURE.to_vec();
        bytes.extend_from_slice(b"\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0");
        bytes
    }

    fn jpeg() -> Vec<u8> {
        vec![
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
        ]
    }

    #[test]
    fn accepts_pdf_png_and_jpeg() {
        assert_eq!(sniff(&pdf()), Ok(DocumentKind::Pdf));
        assert_eq!(sniff(&png()), Ok(DocumentKind::Png));
        assert_eq!(sniff(&jpeg()), Ok(DocumentKind::Jpeg));
        assert_eq!(sniff(b"%PDF-2.0\n"), Ok(DocumentKind::Pdf));
    }

    #[test]
    fn a_pdf_header_may_start_within_the_first_kilobyte() {
        let mut bytes = vec![b'x'; 1000];
        bytes.extend_from_slice(b"%PDF-1.4\n");
        assert_eq!(sniff(&bytes), Ok(DocumentKind::Pdf));
        let mut bytes = vec![0u8; PDF_HEADER_WINDOW - 1];
        bytes.extend_from_slice(b"%PDF-1.4\n");
        assert_eq!(sniff(&bytes), Ok(DocumentKind::Pdf));
        let mut bytes = vec![0u8; PDF_HEADER_WINDOW];
        bytes.extend_from_slice(b"%PDF-1.4\n");
        assert!(sniff(&bytes).is_err());
        // A version digit must follow.
        assert!(sniff(b"%PDF-x").is_err());
        assert!(sniff(b"%PDF-").is_err());
    }

    #[test]
    fn executables_are_refused_whatever_they_contain() {
        let cases: [(&[u8], &str); 8] = [
            (b"\x7fELF\x02\x01\x01\0", "is an executable program (ELF)"),
            (b"MZ\x90\0\x03\0", "is a Windows executable (PE/MZ)"),
            (
                &[0xCF, 0xFA, 0xED, 0xFE, 7, 0, 0, 1],
                "is a macOS executable (Mach-O)",
            ),
            (&[0xFE, 0xED, 0xFA, 0xCE], "is a macOS executable (Mach-O)"),
            (b"#!/bin/sh\nrm -rf /\n", "is a script"),
            (
                b"PK\x03\x04\x14\0\x06\0",
                "is a ZIP archive or Office document",
            ),
            (
                &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
                "is an Office document",
            ),
            (b"\0asm\x01\0\0\0", "is a WebAssembly module"),
        ];
        for (header, message) in cases {
            let mut bytes = header.to_vec();
            bytes.extend_from_slice(b"\n%PDF-1.7\n");
            let error = sniff(&bytes).unwrap_err();
            assert_eq!(error, format!("{message}: {ACCEPTED_TYPES}"));
        }
    }

    #[test]
    fn markup_is_refused_after_a_bom_and_white_space() {
        let cases: [(&[u8], &str); 9] = [
            (
                b"<!DOCTYPE html><html><body>hi</body></html>",
                "an HTML page",
            ),
            (b"\xef\xbb\xbf  \r\n<HTML>", "an HTML page"),
            (
                b"\n\t<script>alert(1)</script>",
                "an HTML page with a script",
            ),
            (
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
                "an SVG image",
            ),
            (b"<?xml version=\"1.0\"?><svg/>", "an XML or SVG file"),
            (b"<!-- comment --><p>", "an HTML or XML file"),
            (b"<p>hello</p>", "an HTML or XML file"),
            (b"   #!/usr/bin/env python", "a script"),
            (b"<iframe src=x>", "an HTML page"),
        ];
        for (bytes, what) in cases {
            assert_eq!(
                sniff(bytes).unwrap_err(),
                format!("is {what}: {ACCEPTED_TYPES}"),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn polyglots_are_refused() {
        let html_then_pdf = b"junk <script>fetch('/x')</script>\n%PDF-1.7\n";
        let error = sniff(html_then_pdf).unwrap_err();
        assert!(error.contains("polyglot"), "{error}");
        assert!(!error.contains("fetch"));
        let leading_html = b"<html><!-- %PDF-1.7 -->";
        assert_eq!(
            sniff(leading_html).unwrap_err(),
            format!("is an HTML page: {ACCEPTED_TYPES}")
        );
        let mut exe = b"MZ".to_vec();
        exe.extend_from_slice(&pdf());
        assert!(sniff(&exe).is_err());
        // Markup inside the PDF body is the PDF's own business.
        let mut body = pdf();
        body.extend_from_slice(b"<script>");
        assert_eq!(sniff(&body), Ok(DocumentKind::Pdf));
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(sniff(b"").unwrap_err(), "is empty");
        assert_eq!(
            sniff(b"hello, world").unwrap_err(),
            format!("is not a PDF, PNG or JPEG file: {ACCEPTED_TYPES}")
        );
        assert!(
            sniff(b"GIF89a\x01\0")
                .unwrap_err()
                .starts_with("is a GIF image")
        );
        assert!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 ")
                .unwrap_err()
                .starts_with("is a WebP image")
        );
        assert!(
            sniff(b"%!PS-Adobe-3.0")
                .unwrap_err()
                .starts_with("is a PostScript file")
        );
        // A truncated signature is not the format.
        assert!(sniff(&PNG_SIGNATURE[..7]).is_err());
        assert!(sniff(&[0xFF, 0xD8]).is_err());
        assert!(
            sniff(&[0xFF, 0xFE, b'<', 0])
                .unwrap_err()
                .contains("UTF-16")
        );
    }

    #[test]
    fn kinds() {
        assert_eq!(DocumentKind::Pdf.mime(), "application/pdf");
        assert_eq!(DocumentKind::Png.mime(), "image/png");
        assert_eq!(DocumentKind::Jpeg.mime(), "image/jpeg");
        assert_eq!(DocumentKind::Jpeg.extension(), "jpg");
        assert!(DocumentKind::Png.is_image() && !DocumentKind::Pdf.is_image());
        for kind in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(kind.as_str()), Ok(*kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert!(DocumentKind::parse("gif").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(check_size(1, DEFAULT_MAX_UPLOAD_BYTES), Ok(()));
        assert_eq!(
            check_size(DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_MAX_UPLOAD_BYTES),
            Ok(())
        );
        assert_eq!(
            check_size(DEFAULT_MAX_UPLOAD_BYTES + 1, DEFAULT_MAX_UPLOAD_BYTES).unwrap_err(),
            "is larger than the limit of 20 MiB"
        );
        assert_eq!(
            check_size(31 * 1024 * 1024 + 600 * 1024, DEFAULT_MAX_UPLOAD_BYTES).unwrap_err(),
            "is 31.5 MiB, larger than the limit of 20 MiB"
        );
        assert_eq!(check_size(0, 10).unwrap_err(), "is empty");
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(1023), "1023 bytes");
        assert_eq!(human_size(300 * 1024), "300 KiB");
        assert_eq!(human_size(3 << 30), "3 GiB");
        assert_eq!(human_size(u64::MAX), "17179869183.9 GiB");
    }

    #[test]
    fn download_names() {
        use DocumentKind::{Jpeg, Pdf, Png};
        let cases: [(&str, DocumentKind, &str); 18] = [
            ("Lab results (March).pdf", Pdf, "Lab results (March).pdf"),
            ("report.PDF", Pdf, "report.pdf"),
            ("scan.JPEG", Jpeg, "scan.jpg"),
            ("photo.png", Jpeg, "photo_png.jpg"),
            ("invoice.exe", Pdf, "invoice_exe.pdf"),
            ("invoice.pdf.exe", Pdf, "invoice_pdf_exe.pdf"),
            ("C:\\Users\\ann\\Desktop\\x-ray.png", Png, "x-ray.png"),
            ("../../etc/passwd", Pdf, "passwd.pdf"),
            ("Befund Müller Straße.pdf", Pdf, "Befund Muller Strasse.pdf"),
            (
                "name\"; filename=evil.html",
                Pdf,
                "name_ filename_evil_html.pdf",
            ),
            ("a\r\nb\u{0}c.pdf", Pdf, "a_b_c.pdf"),
            ("   .pdf", Pdf, "document.pdf"),
            ("", Png, "document.png"),
            ("...hidden", Pdf, "hidden.pdf"),
            ("检查报告.pdf", Pdf, "document.pdf"),
            ("CON.pdf", Pdf, "CON_.pdf"),
            ("100%  sure;.pdf", Pdf, "100_ sure.pdf"),
            ("résumé    final.jpeg", Jpeg, "resume final.jpg"),
        ];
        for (raw, kind, expected) in cases {
            assert_eq!(safe_download_name(raw, kind), expected, "{raw:?}");
        }
        let long = safe_download_name(&"a".repeat(300), Pdf);
        assert_eq!(long.len(), DOWNLOAD_STEM_MAX + 4);
        for raw in ["a\"b\\c;d%e\u{7f}f", "%22.pdf", "x\u{202e}fdp.exe"] {
            let name = safe_download_name(raw, Pdf);
            assert!(
                name.chars().all(|c| c.is_ascii_graphic() || c == ' ')
                    && !name.contains(['"', '\\', ';', '%']),
                "{name}"
            );
            assert!(name.ends_with(".pdf"));
        }
    }

    #[test]
    fn page_count_hint() {
        assert_eq!(pdf_page_count_hint(&pdf()), Some(2));
        assert_eq!(
            pdf_page_count_hint(b"%PDF-1.7\n<< /Type /Pages /Count 3 >>"),
            None
        );
        assert_eq!(pdf_page_count_hint(b""), None);
        assert_eq!(pdf_page_count_hint(b"/Type /Page"), Some(1));
        assert_eq!(pdf_page_count_hint(b"/Type\r\n/Page>>/Type/Page/"), Some(2));
        assert_eq!(pdf_page_count_hint(b"/Type /PageLabel /Type /Pagesx"), None);
        assert_eq!(pdf_page_count_hint(b"/Type"), None);
        assert_eq!(pdf_page_count_hint(&png()), None);
    }
}
