//! Schema descriptions turned into rustdoc.

/// Cleans a schema `description` for rustdoc and returns one string per `///` line (each with
/// the leading space rustdoc expects).
///
/// Strips `\r`, turns the specification's `&lt;&lt;anchor,Name&gt;&gt;` cross references into
/// `` `Name` ``, escapes `[` and `]` (they would be read as intra-doc links), wraps bare URLs in
/// `<...>`, trims each line (indentation would make a code block) and drops trailing blank
/// lines.
pub fn clean(description: &str) -> Vec<String> {
    let text = description.replace('\r', "");
    let text = replace_cross_references(&text);
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| {
            let line = line.trim();
            let line = line.replace('[', "\\[").replace(']', "\\]");
            wrap_urls(&line)
        })
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    lines
        .into_iter()
        .map(|l| if l.is_empty() { l } else { format!(" {l}") })
        .collect()
}

fn replace_cross_references(text: &str) -> String {
    const OPEN: &str = "&lt;&lt;";
    const CLOSE: &str = "&gt;&gt;";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find(CLOSE) else { break };
        let inner = &after[..end];
        let name = inner.rsplit(',').next().unwrap_or(inner).trim();
        out.push_str(&rest[..start]);
        out.push('`');
        out.push_str(name);
        out.push('`');
        rest = &after[end + CLOSE.len()..];
    }
    out.push_str(rest);
    out
}

fn wrap_urls(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut words = line.split(' ').peekable();
    while let Some(word) = words.next() {
        if word.starts_with("http://") || word.starts_with("https://") {
            let url_end = word.find([')', ',', ';']).unwrap_or(word.len());
            let (url, tail) = word.split_at(url_end);
            let (url, dot) = match url.strip_suffix('.') {
                Some(u) => (u, "."),
                None => (url, ""),
            };
            out.push('<');
            out.push_str(url);
            out.push('>');
            out.push_str(dot);
            out.push_str(tail);
        } else {
            out.push_str(word);
        }
        if words.peek().is_some() {
            out.push(' ');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn cleans_spec_markup() {
        assert_eq!(
            clean("Uses the &lt;&lt;signcertificaterequest,SignCertificateRequest&gt;&gt; message [22].\r\n\r\n"),
            vec![" Uses the `SignCertificateRequest` message \\[22\\]."]
        );
        assert_eq!(
            clean("See https://example.com/a.\r\n  indented"),
            vec![" See <https://example.com/a>.", " indented"]
        );
    }
}
