//! JSDoc blocks: `/** Description. @tag value */` → [`Doc`].

use super::syntax::{Doc, Tag};
use crate::source::{FileId, Span};

/// Parses the inside of a `/** … */` comment (`text` excludes `/*` and `*/`; its
/// first character is the second `*`). `offset` is the byte offset of `text` in
/// the file, so tags get exact spans.
pub fn parse(text: &str, offset: u32, file: FileId) -> Doc {
    let mut description: Vec<&str> = Vec::new();
    let mut tags: Vec<Tag> = Vec::new();
    let mut line_start = 0usize;
    for line in text.split_inclusive('\n') {
        let at = line_start;
        line_start += line.len();
        // Strip the comment decoration: leading spaces and `*`s.
        let content_start = line.len() - line.trim_start_matches([' ', '\t', '*']).len();
        let content = line[content_start..].trim_end();
        if let Some(rest) = content.strip_prefix('@') {
            let name_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let start = offset + (at + content_start) as u32;
            tags.push(Tag {
                name: rest[..name_len].to_string(),
                value: rest[name_len..].trim().to_string(),
                span: Span::new(file, start, start + 1 + name_len as u32),
            });
        } else if let Some(last) = tags.last_mut() {
            // A continuation line of the previous tag's value.
            if !content.is_empty() {
                if !last.value.is_empty() {
                    last.value.push(' ');
                }
                last.value.push_str(content);
            }
        } else {
            description.push(content);
        }
    }
    let text = description.join("\n").trim().to_string();
    Doc { text, tags }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_description_and_tags() {
        let src =
            "*\n   * The issue key.\n   * Second line.\n   * @key\n   * @deprecated use\n   *   statusCategory\n   ";
        let doc = parse(src, 100, FileId(0));
        assert_eq!(doc.text, "The issue key.\nSecond line.");
        assert_eq!(doc.tags.len(), 2);
        assert_eq!(doc.tags[0].name, "key");
        assert_eq!(doc.tags[1].name, "deprecated");
        assert_eq!(doc.tags[1].value, "use statusCategory");
        let key_at = src.find("@key").unwrap() as u32 + 100;
        assert_eq!((doc.tags[0].span.start, doc.tags[0].span.end), (key_at, key_at + 4));
    }

    #[test]
    fn one_line_block() {
        let doc = parse("* @deprecated use status ", 0, FileId(0));
        assert_eq!(doc.text, "");
        assert_eq!(doc.tags[0].value, "use status");
    }
}
