//! `ot`: the command-line tool of ot-transport. Keys, envelopes, signed text and armor in the
//! legacy Open-Transactions formats and suite v3, a transport v2 probe, and a broker with its
//! counters. Every command calls the library's Rust core directly; failures exit with the
//! library's `ot_result` code and print its text (`docs/cli.md`).

mod inspect;
mod io;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use ot_transport::envelope::{Envelope, Recipient};
use ot_transport::keys::{Key, KeyFormat};
use ot_transport::transport::{Broker, Options, Protocol, Session, WorkerKeys};
use ot_transport::{Error, ErrorKind, armor, hash, signed};

use crate::io::{Input, Output, Progress};

#[derive(Parser)]
#[command(
    name = "ot",
    version,
    about = "Keys, envelopes, signed text and armor in the legacy Open-Transactions formats and suite v3; \
             notary probes and broker counters",
    long_about = None,
    after_help = "Exit status: 0 on success, otherwise the library's ot_result code (2 invalid argument, \
                  3 malformed input, 4 key format, 5 passphrase, 6 decryption failed, 7 no matching \
                  recipient, 8 bad signature, 9 timed out, 10 transport, 11 internal, 12 state, \
                  13 unsupported). See docs/cli.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a key pair: RSA (legacy suite), Ed25519 (v3 signing) or X25519 (v3 encryption)
    Keygen(KeygenArgs),
    /// Print the NymID of a key (v1: legacy RSA rule; v3: SHA256D of the public key)
    Id(IdArgs),
    /// Seal a file to one or more recipients' public keys (an envelope, armored by default)
    Seal(SealArgs),
    /// Open an envelope (armored, bare armor or raw) with a private key
    Open(OpenArgs),
    /// Sign a file as OT signed text (-----BEGIN SIGNED <TYPE>-----)
    Sign(SignArgs),
    /// Verify signed text with the signer's public key; print the signed content
    Verify(VerifyArgs),
    /// Encode a file as OT armor (data or string path, with or without bookends)
    Armor(ArmorArgs),
    /// Decode OT armor back to its payload
    Dearmor(DearmorArgs),
    /// Say what a file is: envelope, signed text, key or armor (type, recipients, hash, signer)
    Inspect(InspectArgs),
    /// Probe a notary with transport v2 PINGs: round-trip time and protocol
    Ping(PingArgs),
    /// Run a broker and print its counters (by name) every few seconds
    Stats(StatsArgs),
}

/// Where a passphrase comes from (never from the command line itself, where `ps` would show it).
#[derive(Args, Clone, Default)]
pub struct PassArgs {
    /// Read the passphrase from this file (its first line)
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_env")]
    passphrase_file: Option<PathBuf>,
    /// Read the passphrase from this environment variable
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
}

impl PassArgs {
    pub fn get(&self) -> Result<Option<Vec<u8>>, Error> {
        if let Some(f) = &self.passphrase_file {
            let raw = std::fs::read(f).map_err(|e| io::io_error(f.display(), e))?;
            let line = raw.split(|b| *b == b'\n').next().unwrap_or(&[]);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            return Ok(Some(line.to_vec()));
        }
        if let Some(v) = &self.passphrase_env {
            return match std::env::var_os(v) {
                Some(s) => Ok(Some(s.into_encoded_bytes())),
                None => Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("the environment variable {v} is not set"),
                )),
            };
        }
        Ok(None)
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum KeyType {
    Rsa,
    Ed25519,
    X25519,
}

#[derive(Args)]
struct KeygenArgs {
    /// Key type
    #[arg(short = 't', long = "type", value_enum, default_value = "rsa")]
    key_type: KeyType,
    /// RSA modulus size (1024-8192, a multiple of 8)
    #[arg(long, default_value_t = 2048)]
    bits: u32,
    /// Write the private key here (created with mode 0600) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the public key (SPKI PEM) here
    #[arg(long, value_name = "FILE")]
    public: Option<PathBuf>,
    /// With a passphrase: encrypt as legacy OT did (PBKDF2-SHA1 2048 iterations, 3DES) instead
    /// of PBKDF2-SHA256 600 000 iterations + AES-256
    #[arg(long)]
    legacy_encryption: bool,
    #[command(flatten)]
    pass: PassArgs,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum IdScheme {
    /// The key's own NymID: v1 for RSA keys, v3 for Ed25519/X25519
    Auto,
    /// base62(SAMY(escaped OT public-key block)): legacy RSA NymIDs
    V1,
    /// base62(SHA256D(SPKI DER)): suite v3 NymIDs
    V3,
}

#[derive(Args)]
struct IdArgs {
    /// Key file (public or private, any format the library reads; - for stdin)
    key: PathBuf,
    /// Which NymID rule
    #[arg(long, value_enum, default_value = "auto")]
    scheme: IdScheme,
    #[command(flatten)]
    pass: PassArgs,
}

#[derive(Args)]
struct SealArgs {
    /// A recipient: a public key file, or NYMID=FILE to write another NymID in the envelope
    /// (=FILE for a key-only entry). Repeat for several recipients (all RSA, or all X25519)
    #[arg(
        short,
        long = "recipient",
        value_name = "[NYMID=]KEYFILE",
        required = true
    )]
    recipients: Vec<String>,
    /// Input file (default: stdin)
    #[arg(short, long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Output file (default: stdout)
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write the raw envelope bytes instead of armor
    #[arg(long, conflicts_with = "bare")]
    raw: bool,
    /// Armor without the -----BEGIN OT ARMORED ENVELOPE----- bookends (what a request frame carries)
    #[arg(long)]
    bare: bool,
}

#[derive(Args)]
struct OpenArgs {
    /// Private key file (RSA for type 0/1 envelopes, X25519 for type 3)
    #[arg(short, long, value_name = "FILE")]
    key: PathBuf,
    /// The NymID whose entry to open (default: the key's own NymID, else a key-only entry)
    #[arg(long, value_name = "NYMID")]
    nym_id: Option<String>,
    /// Input file: armored, bare armor or raw bytes (default: stdin)
    #[arg(short, long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Output file, created with mode 0600 (default: stdout)
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Keep a trailing NUL byte (legacy type-1 plaintexts end with one; it is dropped by default)
    #[arg(long)]
    keep_nul: bool,
    #[command(flatten)]
    pass: PassArgs,
}

#[derive(Args)]
struct SignArgs {
    /// Private signing key (RSA: Hash SAMY + PSS; Ed25519: Hash SHA256D)
    #[arg(short, long, value_name = "FILE")]
    key: PathBuf,
    /// Document type written in -----BEGIN SIGNED <TYPE>-----
    #[arg(short = 't', long = "type", default_value = "MESSAGE")]
    doc_type: String,
    /// The 4-character Meta value (key type A/E/S, then three base62 characters)
    #[arg(long)]
    meta: Option<String>,
    /// Input file (default: stdin)
    #[arg(short, long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Output file (default: stdout)
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    pass: PassArgs,
}

#[derive(Args)]
struct VerifyArgs {
    /// The signer's key (public or private)
    #[arg(short, long, value_name = "FILE")]
    key: PathBuf,
    /// Signed text (default: stdin)
    #[arg(short, long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Write the verified content here (default: stdout)
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print nothing; the exit status says whether the signature verified
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    pass: PassArgs,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ArmorPath {
    /// Binary payload: protobuf blob, no compression (envelopes, keys)
    Data,
    /// Text payload: protobuf string, zlib-compressed (messages, contracts)
    String,
}

#[derive(Args)]
struct ArmorArgs {
    /// Packing path
    #[arg(long, value_enum, default_value = "data")]
    path: ArmorPath,
    /// Bookend type: -----BEGIN OT ARMORED <TYPE>----- (none: bare armor)
    #[arg(short, long, value_name = "TYPE")]
    bookend: Option<String>,
    /// Input file (default: stdin)
    #[arg(short, long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Output file (default: stdout)
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct DearmorArgs {
    /// Packing path (default: detected)
    #[arg(long, value_enum)]
    path: Option<ArmorPath>,
    /// Input file (default: stdin)
    #[arg(short, long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Output file (default: stdout)
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct InspectArgs {
    /// The file to look at (default: stdin)
    file: Option<PathBuf>,
    /// Keys to check a signed text against (repeatable; the passphrase options apply to them
    /// too): the one that verifies is named as the signer
    #[arg(short, long, value_name = "FILE")]
    key: Vec<PathBuf>,
    /// One JSON object instead of lines
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pass: PassArgs,
}

#[derive(Args)]
struct PingArgs {
    /// The notary's endpoint, e.g. tcp://notary.example:7085
    endpoint: String,
    /// How many probes
    #[arg(short, long, default_value_t = 3)]
    count: u32,
    /// How long each probe waits for the answer, in milliseconds
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u32,
    /// Pause between probes, in milliseconds
    #[arg(long, default_value_t = 200)]
    interval_ms: u64,
    /// The notary's CURVE public key (Z85), for a notary that requires CURVE
    #[arg(long, value_name = "Z85")]
    curve_server_key: Option<String>,
}

#[derive(Args)]
struct StatsArgs {
    /// Where clients connect, e.g. tcp://0.0.0.0:7085 (tcp://127.0.0.1:* picks a free port)
    frontend: String,
    /// Where worker notaries connect, e.g. tcp://0.0.0.0:7086
    backend: String,
    /// Print the counters every SECONDS seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    every: f64,
    /// Stop after SECONDS seconds (default: run until SIGINT or SIGTERM)
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// One JSON object per report instead of a line of name=value
    #[arg(long)]
    json: bool,
    /// The backend's CURVE secret key file (mode 600; `ot-broker --new-key` makes one); with
    /// --workers. A network backend needs both: it admits only listed workers
    #[arg(long, value_name = "FILE", requires = "workers")]
    key: Option<std::path::PathBuf>,
    /// The workers' CURVE public keys, one per line (Z85, optionally followed by a name)
    #[arg(long, value_name = "FILE", requires = "key")]
    workers: Option<std::path::PathBuf>,
}

/// An error as the library reports it: its `ot_result` code is the exit status.
pub fn code_of(kind: ErrorKind) -> u8 {
    // Codes are 1..=13 today and never above 255 (the library's table checks they are small).
    u8::try_from(kind.code()).unwrap_or(1)
}

/// The library's own text for a result code (`ot_result_str`).
pub fn result_str(code: u8) -> String {
    match ErrorKind::from_code(i32::from(code)) {
        Some(k) => k.text().to_string(),
        None if code == 0 => "ok".to_string(),
        None => "unknown result code".to_string(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Keygen(a) => keygen(a),
        Command::Id(a) => id(a),
        Command::Seal(a) => seal(a),
        Command::Open(a) => open(a),
        Command::Sign(a) => sign(a),
        Command::Verify(a) => verify(a),
        Command::Armor(a) => armor_cmd(a),
        Command::Dearmor(a) => dearmor(a),
        Command::Inspect(a) => inspect::run(a.file, a.key, a.json, a.pass),
        Command::Ping(a) => ping(a),
        Command::Stats(a) => stats(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = code_of(e.kind());
            eprintln!("ot: {}: {}", result_str(code), e.detail());
            ExitCode::from(code)
        }
    }
}

fn invalid(d: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, d)
}

/// Loads a key file (any format the library reads), with the passphrase when one is given.
pub fn load_key(path: &std::path::Path, pass: &PassArgs) -> Result<Key, Error> {
    let raw = Input::new(Some(path.to_path_buf())).read_all(None)?;
    let pw = pass.get()?;
    Key::load(&raw, pw.as_deref())
}

fn keygen(a: KeygenArgs) -> Result<(), Error> {
    let key = match a.key_type {
        KeyType::Rsa => Key::generate(a.bits)?,
        KeyType::Ed25519 => Key::generate_ed25519()?,
        KeyType::X25519 => Key::generate_x25519()?,
    };
    let pw = a.pass.get()?;
    let private = match (&pw, a.legacy_encryption) {
        (None, true) => return Err(invalid("--legacy-encryption needs a passphrase")),
        (None, false) => key.export(KeyFormat::Pkcs8Plain, None)?,
        (Some(p), false) => key.export(KeyFormat::Pkcs8Encrypted, Some(p))?,
        (Some(p), true) => key.export(KeyFormat::Pkcs8EncryptedLegacy, Some(p))?,
    };
    Output::new(a.output.clone(), true).write_all(&private, None)?;
    if let Some(p) = &a.public {
        Output::new(Some(p.clone()), false).write_all(key.spki_pem()?.as_bytes(), None)?;
    }
    eprintln!("NymID: {}", key.nym_id()?);
    Ok(())
}

fn id(a: IdArgs) -> Result<(), Error> {
    let key = load_key(&a.key, &a.pass)?;
    let id = match a.scheme {
        IdScheme::Auto => key.nym_id()?,
        IdScheme::V1 => hash::id_of(key.ot_public_block(true)?.as_bytes()),
        IdScheme::V3 => hash::id_of_v3(&key.spki_der()?)?,
    };
    println!("{id}");
    Ok(())
}

fn seal(a: SealArgs) -> Result<(), Error> {
    let mut keys: Vec<(String, Key)> = Vec::new();
    for spec in &a.recipients {
        // A file named like the whole spec wins; otherwise NYMID=FILE.
        let (nym, file) = match spec.split_once('=') {
            Some((n, f)) if !std::path::Path::new(spec).exists() => (Some(n.to_string()), f),
            _ => (None, spec.as_str()),
        };
        let key = load_key(&PathBuf::from(file), &PassArgs::default())?;
        let key = key.to_public();
        let nym = match nym {
            Some(n) => n,
            None => key.nym_id()?,
        };
        keys.push((nym, key));
    }
    let input = Input::new(a.input.clone());
    let progress = Progress::for_size(input.size(), "sealing");
    let plain = input.read_all(progress.as_ref())?;
    let recipients: Vec<Recipient<'_>> = keys
        .iter()
        .map(|(n, k)| Recipient { nym_id: n, key: k })
        .collect();
    if let Some(p) = &progress {
        p.working("sealing");
    }
    let env = Envelope::seal(&recipients, &plain)?;
    let out = if a.raw {
        env.to_bytes()
    } else {
        env.to_armor(!a.bare)?.into_bytes()
    };
    Output::new(a.output.clone(), false).write_all(&out, progress.as_ref())?;
    if let Some(p) = progress {
        p.done(&format!(
            "sealed {} bytes to {} recipient(s)",
            plain.len(),
            keys.len()
        ));
    }
    Ok(())
}

/// Parses an envelope from armor (bookended or bare) or raw bytes.
pub fn parse_envelope(data: &[u8]) -> Result<Envelope, Error> {
    if io::looks_like_text(data) {
        Envelope::from_armor(data)
    } else {
        Envelope::parse(data)
    }
}

fn open(a: OpenArgs) -> Result<(), Error> {
    let key = load_key(&a.key, &a.pass)?;
    let input = Input::new(a.input.clone());
    let progress = Progress::for_size(input.size(), "opening");
    let data = input.read_all(progress.as_ref())?;
    if let Some(p) = &progress {
        p.working("opening");
    }
    let env = parse_envelope(&data)?;
    let mut plain = env.open(a.nym_id.as_deref(), &key)?;
    if !a.keep_nul && env.envelope_type() != 3 && plain.last() == Some(&0) {
        plain.pop();
    }
    Output::new(a.output.clone(), true).write_all(&plain, progress.as_ref())?;
    if let Some(p) = progress {
        p.done(&format!("opened {} bytes", plain.len()));
    }
    Ok(())
}

fn sign(a: SignArgs) -> Result<(), Error> {
    let key = load_key(&a.key, &a.pass)?;
    let content = Input::new(a.input.clone()).read_all(None)?;
    let text = signed::create(&a.doc_type, &content, &key, a.meta.as_deref())?;
    Output::new(a.output.clone(), false).write_all(text.as_bytes(), None)
}

fn verify(a: VerifyArgs) -> Result<(), Error> {
    let key = load_key(&a.key, &a.pass)?;
    let text = Input::new(a.input.clone()).read_all(None)?;
    let content = signed::verify(&text, &key)?;
    if !a.quiet {
        Output::new(a.output.clone(), false).write_all(&content, None)?;
        eprintln!("ot: good signature by {}", key.nym_id()?);
    }
    Ok(())
}

fn kind_of(p: ArmorPath) -> armor::Kind {
    match p {
        ArmorPath::Data => armor::Kind::Data,
        ArmorPath::String => armor::Kind::String,
    }
}

fn armor_cmd(a: ArmorArgs) -> Result<(), Error> {
    let data = Input::new(a.input.clone()).read_all(None)?;
    let kind = kind_of(a.path);
    let text = match &a.bookend {
        Some(t) => armor::encode_bookended(&data, kind, t, false)?,
        None => armor::encode(&data, kind)?,
    };
    Output::new(a.output.clone(), false).write_all(text.as_bytes(), None)
}

fn dearmor(a: DearmorArgs) -> Result<(), Error> {
    let text = Input::new(a.input.clone()).read_all(None)?;
    let data = match a.path {
        Some(p) => armor::decode(&text, kind_of(p))?,
        None => armor::decode_any(&text)?.0,
    };
    Output::new(a.output.clone(), false).write_all(&data, None)
}

fn ping(a: PingArgs) -> Result<(), Error> {
    if a.count == 0 {
        return Err(invalid("--count must be at least 1"));
    }
    let mut opts = Options::default();
    opts.set("protocol", 2)?; // auto: a v2 PING, which a legacy notary silently drops
    opts.set("probe_timeout_ms", i64::from(a.timeout_ms))?;
    opts.set("linger_ms", 0)?;
    if let Some(server) = &a.curve_server_key {
        let (public, secret) = ot_transport::transport::curve_keypair()?;
        opts.set_curve_client(server, &public, &secret)?;
    }
    let mut times = Vec::new();
    for i in 0..a.count {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(a.interval_ms));
        }
        let mut s = Session::new(&a.endpoint, opts.clone())?;
        let t0 = Instant::now();
        let p = s.protocol()?;
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        if p == Protocol::V2 {
            println!(
                "{}: protocol v2, round trip {:.2} ms (connect + PING/PONG)",
                a.endpoint, ms
            );
            times.push(ms);
        } else {
            println!(
                "{}: no v2 answer within {} ms (a legacy notary, or nobody listening)",
                a.endpoint, a.timeout_ms
            );
        }
    }
    if times.is_empty() {
        return Err(Error::new(
            ErrorKind::Timeout,
            format!("no v2 answer from {} to {} probe(s)", a.endpoint, a.count),
        ));
    }
    let min = times.iter().copied().fold(f64::INFINITY, f64::min);
    let max = times.iter().copied().fold(0.0, f64::max);
    let avg = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "{} of {} answered; round trip min/avg/max {:.2}/{:.2}/{:.2} ms",
        times.len(),
        a.count,
        min,
        avg,
        max
    );
    Ok(())
}

fn stats(a: StatsArgs) -> Result<(), Error> {
    if !(a.every > 0.0 && a.every.is_finite()) {
        return Err(invalid("--every must be a positive number of seconds"));
    }
    // Block SIGINT/SIGTERM before the broker's thread starts, so only sigtimedwait sees them.
    #[allow(unsafe_code)]
    // SAFETY: plain libc signal-set calls on a local, zero-initialised sigset_t.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    let broker = match (&a.key, &a.workers) {
        (Some(key), Some(workers)) => Broker::with_workers(
            &a.frontend,
            &a.backend,
            &Options::default(),
            WorkerKeys::from_files(key, workers)?,
        )?,
        _ => Broker::new(&a.frontend, &a.backend, &Options::default())?,
    };
    eprintln!(
        "ot stats: a broker: clients -> {}, workers -> {}",
        broker.frontend(),
        broker.backend()
    );
    let end = a
        .duration
        .map(|d| Instant::now() + Duration::from_secs_f64(d.max(0.0)));
    let report = |b: &Broker| {
        let st = b.stats();
        let names = ot_transport::transport::BROKER_COUNTERS;
        if a.json {
            let mut m = serde_json::Map::new();
            for n in names {
                m.insert((*n).to_string(), st.counter(n).unwrap_or(0).into());
            }
            println!("{}", serde_json::Value::Object(m));
        } else {
            let parts: Vec<String> = names
                .iter()
                .map(|n| format!("{n}={}", st.counter(n).unwrap_or(0)))
                .collect();
            println!("{}", parts.join(" "));
        }
    };
    loop {
        let mut wait = Duration::from_secs_f64(a.every);
        let mut last = false;
        if let Some(end) = end {
            let left = end.saturating_duration_since(Instant::now());
            if left <= wait {
                wait = left;
                last = true;
            }
        }
        let t = libc::timespec {
            tv_sec: wait.as_secs() as libc::time_t,
            tv_nsec: wait.subsec_nanos() as libc::c_long,
        };
        #[allow(unsafe_code)]
        // SAFETY: `set` is an initialised signal set; a NULL siginfo pointer is allowed.
        let sig = unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &t) };
        if sig == libc::SIGINT || sig == libc::SIGTERM || last {
            break;
        }
        report(&broker);
    }
    report(&broker);
    Ok(())
}
