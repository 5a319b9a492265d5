//! A small, bounded reader for the XML legacy OT wrote (credential lists, credentials,
//! contracts, wallets): elements, attributes and the raw text between tags.
//!
//! The documents are machine-written and regular, so this reads only what they use: an optional
//! `<?xml …?>` prolog, comments, elements with `"` or `'` quoted attributes (the five named
//! entities and numeric references decoded), empty-element tags, and text. A DOCTYPE, CDATA or
//! any other `<!` construct is refused: nothing can define entities. Limits keep a hostile
//! document cheap: nesting depth, elements and attributes are counted before anything grows,
//! and the parse is a loop over an explicit stack (no recursion).

use crate::error::{Error, Result, clip};

/// Deepest element nesting accepted (real documents nest at most 4 deep).
pub const MAX_DEPTH: usize = 16;
/// Most elements in one document (a wallet of many accounts stays far below).
pub const MAX_ELEMENTS: usize = 16_384;
/// Most attributes on one element.
pub const MAX_ATTRIBUTES: usize = 32;

/// One element: its name, attributes, child elements and the raw text between its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element<'a> {
    pub name: &'a str,
    attrs: Vec<(&'a str, String)>,
    pub children: Vec<Element<'a>>,
    /// The raw text between the start tag and the end tag, child elements included; empty for
    /// `<x/>`.
    pub inner: &'a str,
}

fn bad(what: impl Into<String>) -> Error {
    Error::malformed(format!("XML: {}", what.into()))
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b':' | b'.')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn name_at(text: &str, i: usize) -> Result<(&str, usize)> {
    let b = text.as_bytes();
    let mut j = i;
    while j < b.len() && is_name_char(b[j]) {
        j += 1;
    }
    if j == i || !(b[i].is_ascii_alphabetic() || b[i] == b'_') {
        return Err(bad(format!("a tag name is expected at byte {i}")));
    }
    Ok((&text[i..j], j))
}

/// Decodes the entity references of an attribute value.
fn unescape(v: &str) -> Result<String> {
    if !v.contains('&') {
        return Ok(v.to_string());
    }
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after
            .find(';')
            .filter(|&e| e <= 10)
            .ok_or_else(|| bad("an '&' in an attribute value starts no entity reference"))?;
        let ent = &after[..end];
        let c = match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let n = if let Some(h) = ent.strip_prefix("#x") {
                    u32::from_str_radix(h, 16).ok()
                } else if let Some(d) = ent.strip_prefix('#') {
                    d.parse::<u32>().ok()
                } else {
                    None
                };
                n.and_then(char::from_u32)
                    .filter(|&c| c != '\0')
                    .ok_or_else(|| bad(format!("unknown entity &{};", clip(ent))))?
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses a start tag at `lt` (the `<`). Returns the element (without children), whether it
/// was an empty-element tag, and the index after its `>`.
fn start_tag(text: &str, lt: usize) -> Result<(Element<'_>, bool, usize)> {
    let b = text.as_bytes();
    let (name, mut i) = name_at(text, lt + 1)?;
    let mut attrs: Vec<(&str, String)> = Vec::new();
    loop {
        let j = skip_ws(b, i);
        match b.get(j) {
            None => return Err(bad(format!("<{}> has no closing '>'", clip(name)))),
            Some(b'>') => {
                return Ok((Element::new(name, attrs), false, j + 1));
            }
            Some(b'/') if b.get(j + 1) == Some(&b'>') => {
                return Ok((Element::new(name, attrs), true, j + 2));
            }
            Some(_) if j == i => {
                return Err(bad(format!(
                    "<{}>: attributes must be separated by white space",
                    clip(name)
                )));
            }
            Some(_) => {}
        }
        let (aname, k) = name_at(text, j)?;
        let k = skip_ws(b, k);
        if b.get(k) != Some(&b'=') {
            return Err(bad(format!(
                "<{}>: attribute {} has no value",
                clip(name),
                clip(aname)
            )));
        }
        let k = skip_ws(b, k + 1);
        let q = *b
            .get(k)
            .ok_or_else(|| bad("the document ends inside a tag"))?;
        if q != b'"' && q != b'\'' {
            return Err(bad(format!(
                "<{}>: attribute {} is not quoted",
                clip(name),
                clip(aname)
            )));
        }
        let vstart = k + 1;
        let vlen = memchr::memchr(q, &b[vstart..])
            .ok_or_else(|| bad("the document ends inside an attribute value"))?;
        let raw = &text[vstart..vstart + vlen];
        if raw.contains('<') {
            return Err(bad(format!(
                "<{}>: attribute {} contains '<'",
                clip(name),
                clip(aname)
            )));
        }
        if attrs.len() == MAX_ATTRIBUTES {
            return Err(bad(format!(
                "<{}> has more than {MAX_ATTRIBUTES} attributes",
                clip(name)
            )));
        }
        if attrs.iter().any(|(n, _)| *n == aname) {
            return Err(bad(format!(
                "<{}> repeats attribute {}",
                clip(name),
                clip(aname)
            )));
        }
        attrs.push((aname, unescape(raw)?));
        i = vstart + vlen + 1;
    }
}

/// Parses a document and returns its root element.
pub(crate) fn parse(text: &str) -> Result<Element<'_>> {
    let b = text.as_bytes();
    // (element, index where its inner text starts)
    let mut stack: Vec<(Element<'_>, usize)> = Vec::new();
    let mut root: Option<Element<'_>> = None;
    let mut count = 0usize;
    let mut pos = 0usize;
    loop {
        let next = memchr::memchr(b'<', &b[pos..]).map(|i| pos + i);
        let text_end = next.unwrap_or(b.len());
        if stack.is_empty() && !text[pos..text_end].trim().is_empty() {
            return Err(bad("text outside the root element"));
        }
        let Some(lt) = next else { break };
        let rest = &text[lt..];
        if rest.starts_with("<?") {
            if root.is_some() || !stack.is_empty() {
                return Err(bad("a processing instruction after the prolog"));
            }
            let end = rest
                .find("?>")
                .ok_or_else(|| bad("an unterminated <? … ?>"))?;
            pos = lt + end + 2;
        } else if let Some(comment) = rest.strip_prefix("<!--") {
            let end = comment
                .find("-->")
                .ok_or_else(|| bad("an unterminated comment"))?;
            pos = lt + 4 + end + 3;
        } else if rest.starts_with("<!") {
            return Err(bad(
                "DOCTYPE, CDATA and other <! constructs are not accepted",
            ));
        } else if rest.starts_with("</") {
            let (name, j) = name_at(text, lt + 2)?;
            let j = skip_ws(b, j);
            if b.get(j) != Some(&b'>') {
                return Err(bad(format!("</{}> has no closing '>'", clip(name))));
            }
            let (mut el, inner_start) = stack
                .pop()
                .ok_or_else(|| bad(format!("</{}> closes nothing", clip(name))))?;
            // The legacy reader never compared end-tag names, and a 2011 notary contract
            // closes <notaryProviderContract> with </transactionServerContract>: accepted for
            // the root element only.
            if el.name != name && !stack.is_empty() {
                return Err(bad(format!(
                    "<{}> is closed by </{}>",
                    clip(el.name),
                    clip(name)
                )));
            }
            el.inner = &text[inner_start..lt];
            attach(&mut stack, &mut root, el)?;
            pos = j + 1;
        } else {
            if root.is_some() {
                return Err(bad("a second root element"));
            }
            count += 1;
            if count > MAX_ELEMENTS {
                return Err(bad(format!("more than {MAX_ELEMENTS} elements")));
            }
            let (el, empty, after) = start_tag(text, lt)?;
            if empty {
                attach(&mut stack, &mut root, el)?;
            } else {
                if stack.len() == MAX_DEPTH {
                    return Err(bad(format!("elements nest deeper than {MAX_DEPTH}")));
                }
                stack.push((el, after));
            }
            pos = after;
        }
    }
    if let Some((el, _)) = stack.last() {
        return Err(bad(format!("<{}> is never closed", clip(el.name))));
    }
    root.ok_or_else(|| bad("no root element"))
}

fn attach<'a>(
    stack: &mut [(Element<'a>, usize)],
    root: &mut Option<Element<'a>>,
    el: Element<'a>,
) -> Result<()> {
    match stack.last_mut() {
        Some((parent, _)) => parent.children.push(el),
        None => *root = Some(el),
    }
    Ok(())
}

impl<'a> Element<'a> {
    fn new(name: &'a str, attrs: Vec<(&'a str, String)>) -> Self {
        Element {
            name,
            attrs,
            children: Vec::new(),
            inner: "",
        }
    }

    /// The value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of attribute `name`; `Malformed` when absent.
    pub fn req_attr(&self, name: &str) -> Result<&str> {
        self.attr(name)
            .ok_or_else(|| bad(format!("<{}> has no {name} attribute", clip(self.name))))
    }

    /// The child elements named `name`, in document order.
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Element<'a>> + 's {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The one child element named `name`: `Malformed` when there is none or more than one (a
    /// repeated element could be checked in one place and used from another).
    pub fn one(&self, name: &str) -> Result<&Element<'a>> {
        self.opt(name)?
            .ok_or_else(|| bad(format!("<{}> has no <{name}>", clip(self.name))))
    }

    /// The child element named `name` if there is one; `Malformed` when there are several.
    pub fn opt(&self, name: &str) -> Result<Option<&Element<'a>>> {
        let mut it = self.children.iter().filter(|c| c.name == name);
        let first = it.next();
        if it.next().is_some() {
            return Err(bad(format!(
                "<{}> has more than one <{name}>",
                clip(self.name)
            )));
        }
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_legacy_writes() {
        let doc = "<?xml version=\"1.0\"?>\n<!-- c -->\n<a x=\"1\"\n y='t&amp;&#65;'>\n\
                   <b>\nAAAA\n</b>\n<c k=\"A\"/>\n<c k=\"E\"/>\n</a>\n<!-- trailing -->\n";
        let a = parse(doc).unwrap();
        assert_eq!(a.name, "a");
        assert_eq!(a.attr("y"), Some("t&A"));
        assert_eq!(a.one("b").unwrap().inner, "\nAAAA\n");
        assert_eq!(a.all("c").count(), 2);
        assert!(a.one("c").is_err());
        assert!(a.one("d").is_err());
        assert_eq!(a.opt("d").unwrap(), None);
    }

    #[test]
    fn a_root_closed_by_another_name_is_read() {
        let r = parse("<a>\n<b/>\n</z>").unwrap();
        assert_eq!((r.name, r.children.len()), ("a", 1));
    }

    #[test]
    fn refuses_what_it_does_not_read() {
        for d in [
            "",
            "text",
            "<a>",
            "<a><c></b></a>",
            "<a/><b/>",
            "<!DOCTYPE a [<!ENTITY x \"y\">]><a/>",
            "<a><![CDATA[x]]></a>",
            "<a x=1/>",
            "<a x=\"1\"x=\"2\"/>",
            "<a x=\"1\" x=\"2\"/>",
            "<a x=\"&bogus;\"/>",
            "<a x=\"<\"/>",
            "<a/>junk",
            "<a><!-- never closed </a>",
            "<1a/>",
        ] {
            assert!(parse(d).is_err(), "{d:?}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).unwrap_err().detail().contains("deeper"));
        let many = format!("<r>{}</r>", "<x/>".repeat(MAX_ELEMENTS));
        assert!(parse(&many).unwrap_err().detail().contains("elements"));
        let ok = format!("<r>{}</r>", "<x/>".repeat(MAX_ELEMENTS - 1));
        assert_eq!(parse(&ok).unwrap().children.len(), MAX_ELEMENTS - 1);
    }
}
