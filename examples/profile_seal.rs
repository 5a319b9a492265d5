//! Profiling aid: seals and opens a 1 MiB plaintext in a loop (`perf record` target).
use ot_transport::envelope::{Envelope, Recipient};
use ot_transport::keys::Key;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let key = Key::generate(2048).expect("key");
    let msg = vec![b'a'; 1 << 20];
    let t = std::time::Instant::now();
    for _ in 0..n {
        let env = Envelope::seal(
            &[Recipient {
                nym_id: "x",
                key: &key,
            }],
            &msg,
        )
        .expect("seal");
        let bytes = env.to_bytes();
        let p = Envelope::parse(&bytes)
            .expect("parse")
            .open(Some("x"), &key)
            .expect("open");
        assert_eq!(p.len(), msg.len());
    }
    println!(
        "{:.2} ms per seal+open of 1 MiB",
        t.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
}
