//! A small text-document PDF writer for printable records (the medical record summary):
//! a title, then sections of headed lines, on A4 pages in Helvetica, wrapped and paginated.
//! Built on `pdf-writer`; no fonts are embedded (Helvetica is one of the PDF standard 14),
//! so text is encoded as WinAnsi and characters outside it print as `?`.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

/// One section: a heading and its lines.
#[derive(Debug, Clone, Default)]
pub struct Section {
    pub heading: String,
    pub lines: Vec<String>,
}

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const BODY_SIZE: f32 = 10.0;
const HEADING_SIZE: f32 = 12.5;
const TITLE_SIZE: f32 = 16.0;
const LEADING: f32 = 14.0;
/// Characters per line at the body size (Helvetica averages about 0.5 em).
const WRAP_AT: usize = 92;

/// One positioned line of text.
struct Line {
    size: f32,
    bold: bool,
    text: String,
}

/// Renders `title`, an optional `subtitle` line and `sections` as a PDF.
pub fn render(title: &str, subtitle: &str, sections: &[Section]) -> Vec<u8> {
    let mut lines = vec![Line {
        size: TITLE_SIZE,
        bold: true,
        text: title.to_owned(),
    }];
    if !subtitle.is_empty() {
        lines.push(Line {
            size: BODY_SIZE,
            bold: false,
            text: subtitle.to_owned(),
        });
    }
    for section in sections {
        lines.push(Line {
            size: BODY_SIZE,
            bold: false,
            text: String::new(),
        });
        lines.push(Line {
            size: HEADING_SIZE,
            bold: true,
            text: section.heading.clone(),
        });
        if section.lines.is_empty() {
            lines.push(Line {
                size: BODY_SIZE,
                bold: false,
                text: "None recorded.".into(),
            });
        }
        for line in &section.lines {
            for wrapped in wrap(line, WRAP_AT) {
                lines.push(Line {
                    size: BODY_SIZE,
                    bold: false,
                    text: wrapped,
                });
            }
        }
    }
    let per_page = ((PAGE_HEIGHT - 2.0 * MARGIN) / LEADING) as usize;
    let pages: Vec<&[Line]> = lines.chunks(per_page.max(1)).collect();

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let first_page = 5;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    for (font, base) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(font)
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let count = pages.len();
    for (i, chunk) in pages.into_iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
        page.parent(tree);
        page.contents(content_id);
        page.resources()
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        page.finish();

        let mut content = Content::new();
        let mut y = PAGE_HEIGHT - MARGIN;
        for line in chunk {
            if !line.text.is_empty() {
                content.begin_text();
                content.set_font(Name(if line.bold { b"F2" } else { b"F1" }), line.size);
                content.next_line(MARGIN, y);
                content.show(Str(&win_ansi(&line.text)));
                content.end_text();
            }
            y -= LEADING;
        }
        let footer = format!("Page {} of {count}", i + 1);
        content.begin_text();
        content.set_font(Name(b"F1"), 8.0);
        content.next_line(MARGIN, MARGIN / 2.0);
        content.show(Str(&win_ansi(&footer)));
        content.end_text();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

/// Splits `text` into lines of at most `width` characters at spaces (a longer word is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let mut word = word.to_owned();
            while word.chars().count() > width {
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                out.push(head);
            }
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        out.push(line);
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// The text as WinAnsi bytes: ASCII and Latin-1 as themselves, a few typographic marks
/// mapped, anything else `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ' '..='~' => out.push(c as u8),
            '\u{a0}'..='\u{ff}' => out.push(c as u8),
            '–' => out.push(0x96),
            '—' => out.push(0x97),
            '‘' => out.push(0x91),
            '’' => out.push(0x92),
            '“' => out.push(0x93),
            '”' => out.push(0x94),
            '•' => out.push(0x95),
            '€' => out.push(0x80),
            '→' => out.push(b'>'),
            // Vital signs: "SpO₂", "≥ 95 %".
            '₂' => out.push(b'2'),
            '≥' => out.extend_from_slice(b">="),
            '≤' => out.extend_from_slice(b"<="),
            _ => out.push(b'?'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("", 5), [""]);
    }

    #[test]
    fn encodes_win_ansi() {
        assert_eq!(win_ansi("Sézary – ok ✓"), b"S\xe9zary \x96 ok ?");
        assert_eq!(win_ansi("SpO₂ ≥ 95 %"), b"SpO2 >= 95 %");
    }

    #[test]
    fn renders_a_pdf_with_every_page() {
        let sections: Vec<Section> = (0..3)
            .map(|i| Section {
                heading: format!("Section {i}"),
                lines: (0..40).map(|n| format!("line {n}")).collect(),
            })
            .collect();
        let bytes = render("Title", "subtitle", &sections);
        assert!(bytes.starts_with(b"%PDF-"));
        assert_eq!(
            carevault_core::document::sniff(&bytes)
                .ok()
                .map(|k| k.mime()),
            Some("application/pdf")
        );
        assert!(carevault_core::document::pdf_page_count_hint(&bytes).unwrap_or(0) >= 2);
    }
}
