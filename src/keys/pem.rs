//! A tolerant PEM block scanner: finds every `-----BEGIN X-----` … `-----END X-----` block in a
//! text, in escaped (`- -----BEGIN`) or plain form, with RFC 1421 headers (`Proc-Type`,
//! `DEK-Info`) separated from the base64 body.

use crate::armor::base64_decode;
use crate::error::{Error, Result, clip};

/// One PEM block.
pub(crate) struct Block {
    pub label: String,
    pub headers: Vec<(String, String)>,
    /// The base64 body lines joined with `\n`.
    pub body: String,
}

impl Block {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn decode(&self) -> Result<Vec<u8>> {
        base64_decode(self.body.as_bytes()).map_err(|_| {
            Error::key_format(format!(
                "the {} block is not valid base64",
                clip(&self.label)
            ))
        })
    }
}

fn strip_escape(l: &str) -> &str {
    l.strip_prefix("- ").unwrap_or(l)
}

fn begin_label(l: &str) -> Option<&str> {
    strip_escape(l)
        .strip_prefix("-----BEGIN ")?
        .strip_suffix("-----")
}

/// All blocks in `text`, in order. Text outside blocks is ignored.
pub(crate) fn blocks(text: &str) -> Result<Vec<Block>> {
    let mut out = Vec::new();
    let mut lines = text
        .split('\n')
        .map(|l| l.trim_end_matches(['\r', ' ', '\t']));
    while let Some(l) = lines.next() {
        let Some(label) = begin_label(l) else {
            continue;
        };
        let label = label.to_string();
        let end_line = format!("-----END {label}-----");
        let mut headers = Vec::new();
        let mut body = String::new();
        let mut closed = false;
        let mut in_headers = true;
        for l in lines.by_ref() {
            if strip_escape(l) == end_line {
                closed = true;
                break;
            }
            if in_headers {
                if let Some((k, v)) = l.split_once(':')
                    && !k.is_empty()
                    && !k.contains(' ')
                {
                    headers.push((k.to_string(), v.trim().to_string()));
                    continue;
                }
                in_headers = false;
                if l.is_empty() {
                    continue;
                }
            }
            body.push_str(l);
            body.push('\n');
        }
        if !closed {
            return Err(Error::key_format(format!(
                "the {} block has no END line",
                clip(&label)
            )));
        }
        out.push(Block {
            label,
            headers,
            body,
        });
    }
    Ok(out)
}
