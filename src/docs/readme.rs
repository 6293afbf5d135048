//! The README's section on each command, as the long help (`kps CMD
//! --help`) and as the man page's description. The README is where commands
//! are documented; this reads the small part of Markdown it uses
//! (paragraphs, `-` lists, tables, fenced code, `code`, **bold** and
//! [links](url)) so that the three cannot say different things.

use roff::{Inline, Roff, bold, roman};

const README: &str = include_str!("../../README.md");

/// The README section about `command` (a top-level subcommand name): the
/// first `##`/`###` heading naming `` `kps COMMAND ...` `` in a code span,
/// up to the next heading of the same or a higher level.
pub fn section(command: &str) -> Option<&'static str> {
    let lines: Vec<&str> = README.lines().collect();
    let mut in_code = false;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if in_code {
            continue;
        }
        let Some(level) = heading_level(line) else {
            continue;
        };
        if !names_command(line, command) {
            continue;
        }
        let start = lines[..=i].iter().map(|l| l.len() + 1).sum::<usize>();
        let mut end = README.len();
        let mut offset = start;
        let mut fenced = false;
        for next in &lines[i + 1..] {
            if next.starts_with("```") {
                fenced = !fenced;
            }
            if !fenced && heading_level(next).is_some_and(|l| l <= level) {
                end = offset;
                break;
            }
            offset += next.len() + 1;
        }
        return Some(README[start.min(end)..end].trim_matches('\n'));
    }
    None
}

fn heading_level(line: &str) -> Option<usize> {
    let level = line.chars().take_while(|&c| c == '#').count();
    (level >= 2 && line[level..].starts_with(' ')).then_some(level)
}

/// Does a heading name `kps COMMAND` in one of its code spans?
fn names_command(heading: &str, command: &str) -> bool {
    heading.split('`').skip(1).step_by(2).any(|span| {
        let mut words = span.split_whitespace();
        words.next() == Some("kps") && words.next() == Some(command)
    })
}

/// One block of the section.
enum Block {
    Paragraph(String),
    Item(String),
    Code(Vec<String>),
    /// Header cells, then the rows.
    Table(Vec<String>, Vec<Vec<String>>),
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        // List items and their continuation are indented by two spaces;
        // a table or paragraph inside an item is read as if at the top.
        let line = line.strip_prefix("  ").unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with("```") {
            let mut code = Vec::new();
            for l in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    break;
                }
                code.push(l.to_string());
            }
            out.push(Block::Code(code));
        } else if line.trim_start().starts_with('|') {
            let mut rows = vec![cells(line)];
            while let Some(l) = lines.next_if(|l| l.trim_start().starts_with('|')) {
                if !l.contains("---") {
                    rows.push(cells(l));
                }
            }
            let header = rows.remove(0);
            out.push(Block::Table(header, rows));
        } else {
            let item = line.strip_prefix("- ");
            let mut text = item.unwrap_or(line).trim().to_string();
            while let Some(l) = lines.next_if(|l| {
                let t = l.trim_start();
                !t.is_empty()
                    && !t.starts_with("- ")
                    && !t.starts_with('|')
                    && !t.starts_with("```")
            }) {
                text.push(' ');
                text.push_str(l.trim());
            }
            out.push(match item {
                Some(_) => Block::Item(text),
                None => Block::Paragraph(text),
            });
        }
    }
    out
}

fn cells(row: &str) -> Vec<String> {
    let row = row.trim().trim_start_matches('|').trim_end_matches('|');
    row.split('|').map(|c| c.trim().to_string()).collect()
}

/// Inline Markdown: code spans and **bold** in bold, links as their text.
fn inline(text: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let next = ["`", "**", "["]
            .iter()
            .filter_map(|m| rest.find(m).map(|i| (i, *m)))
            .min();
        let Some((at, mark)) = next else {
            out.push((false, rest.to_string()));
            break;
        };
        out.push((false, rest[..at].to_string()));
        let after = &rest[at + mark.len()..];
        if mark == "[" {
            // [text](target): the text only.
            match after
                .find("](")
                .and_then(|t| after[t..].find(')').map(|e| (t, t + e)))
            {
                Some((t, e)) => {
                    out.push((false, after[..t].to_string()));
                    rest = &after[e + 1..];
                }
                None => {
                    out.push((false, "[".to_string()));
                    rest = after;
                }
            }
            continue;
        }
        match after.find(mark) {
            Some(end) => {
                out.push((true, after[..end].to_string()));
                rest = &after[end + mark.len()..];
            }
            None => {
                out.push((false, mark.to_string()));
                rest = after;
            }
        }
    }
    out.retain(|(_, t)| !t.is_empty());
    out
}

fn plain(text: &str) -> String {
    inline(text).into_iter().map(|(_, t)| t).collect()
}

fn roff_inline(text: &str) -> Vec<Inline> {
    inline(text)
        .into_iter()
        .map(|(strong, t)| if strong { bold(t) } else { roman(t) })
        .collect()
}

/// A row of a table as one line: `first: Header2: cell2; Header3: cell3`.
fn row_rest(header: &[String], row: &[String]) -> String {
    row.iter()
        .enumerate()
        .skip(1)
        .filter(|(_, c)| !c.is_empty())
        .map(|(i, c)| match header.get(i).filter(|h| !h.is_empty()) {
            Some(h) if row.len() > 2 => format!("{h}: {c}"),
            _ => c.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The section as plain text for `--help`, wrapped as the README wraps it;
/// code blocks are left out (the help ends with its examples).
pub fn plain_text(section: &str) -> String {
    let mut out = Vec::new();
    for block in blocks(section) {
        match block {
            Block::Paragraph(t) => out.push(wrap(&plain(&t), "", "")),
            Block::Item(t) => out.push(wrap(&plain(&t), "- ", "  ")),
            Block::Code(_) => {}
            Block::Table(header, rows) => {
                let lines: Vec<String> = rows
                    .iter()
                    .map(|r| {
                        let first = r.first().map(|c| plain(c)).unwrap_or_default();
                        let rest = plain(&row_rest(&header, r));
                        wrap(&format!("{first}: {rest}"), "  ", "    ")
                    })
                    .collect();
                out.push(lines.join("\n"));
            }
        }
    }
    out.join("\n\n")
}

fn wrap(text: &str, first: &str, rest: &str) -> String {
    const WIDTH: usize = 78;
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.len() + 1 + word.len() > WIDTH {
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines.join("\n")
}

/// The section as man page text (under DESCRIPTION), code included.
pub fn to_roff(section: &str, roff: &mut Roff) {
    for block in blocks(section) {
        match block {
            Block::Paragraph(t) => {
                roff.control("PP", []).text(roff_inline(&t));
            }
            Block::Item(t) => {
                roff.control("IP", ["\\(bu", "2"]).text(roff_inline(&t));
            }
            Block::Code(lines) => {
                roff.control("PP", [])
                    .control("RS", ["4"])
                    .control("nf", []);
                for l in lines {
                    roff.text([roman(l)]);
                }
                roff.control("fi", []).control("RE", []);
            }
            Block::Table(header, rows) => {
                for r in rows {
                    let first = r.first().cloned().unwrap_or_default();
                    roff.control("TP", [])
                        .text(roff_inline(&first))
                        .text(roff_inline(&row_rest(&header, &r)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_found_by_the_command_in_their_heading() {
        let import = section("import").unwrap();
        assert!(import.starts_with("Takes in keys"));
        assert!(!import.contains("### "));
        // One heading may name two commands.
        assert!(section("set-encryption").unwrap().contains("HSM"));
        assert!(section("kms").unwrap().contains("HSM"));
        assert!(section("no-such-command").is_none());
    }

    #[test]
    fn inline_markdown_is_read() {
        assert_eq!(plain("a `b` **c** [d](e.md#f) g"), "a b c d g");
        assert_eq!(plain("2 * 3 and a `lone"), "2 * 3 and a `lone");
        let table = "| A | B | C |\n|---|---|---|\n| x | `y` | z |";
        assert_eq!(plain_text(table), "  x: B: y; C: z");
    }
}
