//! Files or stdin/stdout, and a progress bar on a terminal for large inputs.

use std::fmt::Display;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ot_transport::{Error, ErrorKind};

/// Inputs at least this large get a progress bar (when stderr is a terminal).
pub const PROGRESS_MIN: u64 = 4 << 20;
/// Most bytes read from one input (the library's own limits are below this).
const MAX_INPUT: u64 = 1 << 30;
const CHUNK: usize = 1 << 20;

pub fn io_error(what: impl Display, e: std::io::Error) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("{what}: {e}"))
}

/// Whether `data` is text (armor, PEM, signed text) rather than raw binary bytes.
pub fn looks_like_text(data: &[u8]) -> bool {
    !data.is_empty()
        && data
            .iter()
            .take(4096)
            .all(|&b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b))
}

/// A file, or stdin when none (or `-`) is given.
pub struct Input {
    path: Option<PathBuf>,
}

impl Input {
    pub fn new(path: Option<PathBuf>) -> Input {
        Input {
            path: path.filter(|p| p.as_os_str() != "-"),
        }
    }

    fn name(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "stdin".to_string(), |p| p.display().to_string())
    }

    /// The size when known (a regular file).
    pub fn size(&self) -> Option<u64> {
        let p = self.path.as_ref()?;
        std::fs::metadata(p)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    }

    pub fn read_all(&self, progress: Option<&Progress>) -> Result<Vec<u8>, Error> {
        let mut r: Box<dyn Read> = match &self.path {
            Some(p) => Box::new(std::fs::File::open(p).map_err(|e| io_error(self.name(), e))?),
            None => Box::new(std::io::stdin().lock()),
        };
        let mut out = Vec::with_capacity(self.size().unwrap_or(0).min(MAX_INPUT) as usize);
        let mut buf = vec![0u8; CHUNK];
        if let Some(p) = progress {
            p.phase("reading", self.size());
        }
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(self.name(), e)),
            };
            if out.len() as u64 + n as u64 > MAX_INPUT {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("{} is larger than 1 GiB", self.name()),
                ));
            }
            out.extend_from_slice(&buf[..n]);
            if let Some(p) = progress {
                p.inc(n as u64);
            }
        }
        Ok(out)
    }
}

/// A file, or stdout when none (or `-`) is given.
pub struct Output {
    path: Option<PathBuf>,
    /// Secret content (private keys, plaintext): a new file is created with mode 0600.
    private: bool,
}

impl Output {
    pub fn new(path: Option<PathBuf>, private: bool) -> Output {
        Output {
            path: path.filter(|p| p.as_os_str() != "-"),
            private,
        }
    }

    pub fn write_all(&self, data: &[u8], progress: Option<&Progress>) -> Result<(), Error> {
        let name = self
            .path
            .as_ref()
            .map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
        let mut w: Box<dyn Write> = match &self.path {
            Some(p) => {
                let mut o = std::fs::OpenOptions::new();
                o.write(true).create(true).truncate(true);
                if self.private {
                    use std::os::unix::fs::OpenOptionsExt;
                    o.mode(0o600);
                }
                Box::new(o.open(p).map_err(|e| io_error(&name, e))?)
            }
            None => Box::new(std::io::stdout().lock()),
        };
        if let Some(p) = progress {
            p.phase("writing", Some(data.len() as u64));
        }
        for chunk in data.chunks(CHUNK) {
            w.write_all(chunk).map_err(|e| io_error(&name, e))?;
            if let Some(p) = progress {
                p.inc(chunk.len() as u64);
            }
        }
        w.flush().map_err(|e| io_error(&name, e))
    }
}

/// A progress bar on stderr, only when stderr is a terminal and the input is large (or of
/// unknown size, from a pipe).
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn for_size(size: Option<u64>, what: &str) -> Option<Progress> {
        if !std::io::stderr().is_terminal() || size.is_some_and(|s| s < PROGRESS_MIN) {
            return None;
        }
        let bar = ProgressBar::with_draw_target(size, ProgressDrawTarget::stderr());
        let p = Progress { bar };
        p.phase(what, size);
        Some(p)
    }

    fn phase(&self, what: &str, size: Option<u64>) {
        let template = if size.is_some() {
            "{msg:8} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} {eta}"
        } else {
            "{msg:8} {spinner} {bytes} {bytes_per_sec}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_length(size.unwrap_or(0));
        self.bar.set_position(0);
        self.bar.set_message(what.to_string());
    }

    fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// A step without byte progress (the cryptography itself).
    pub fn working(&self, what: &str) {
        if let Ok(style) = ProgressStyle::with_template("{msg:8} {spinner} {elapsed}") {
            self.bar.set_style(style);
        }
        self.bar.set_message(what.to_string());
        self.bar.enable_steady_tick(Duration::from_millis(100));
    }

    pub fn done(self, what: &str) {
        self.bar.disable_steady_tick();
        if let Ok(style) = ProgressStyle::with_template("{msg}") {
            self.bar.set_style(style);
        }
        self.bar.finish_with_message(what.to_string());
    }
}
