//! A small, coverage-free fuzzer on stable Rust: valid seeds mutated at random (bit flips,
//! interesting bytes, dictionary tokens, deletions, repetitions, splices), run through a
//! target that must return whatever it returns without panicking.
//!
//! Deterministic for a given seed, so a failure replays: it prints the target, the seed, the
//! case number and the input. The number of cases per target is `SESAME_FUZZ_CASES` (default
//! [`DEFAULT_CASES`], a few seconds for the whole suite), the seed `SESAME_FUZZ_SEED` (default
//! fixed, so plain `cargo test` always runs the same inputs; CI passes a fresh one).

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Cases per target when `SESAME_FUZZ_CASES` is unset: enough to run every mutation on every
/// seed, small enough to keep `cargo test` fast.
pub const DEFAULT_CASES: u64 = 1500;

/// The longest input made (the server reads bodies up to 64 KiB).
const MAX_LEN: usize = 64 * 1024;

/// Bytes that parsers treat specially, or that break UTF-8.
const INTERESTING: &[u8] = b"\x00\xff\x7f\x80\xc0\xc3\xe2\xf0%=&;\"'\\.+ \n\r\t[]{}:,/?#@09-_~*$<>";

/// Cases per target, from `SESAME_FUZZ_CASES`.
pub fn cases() -> u64 {
    env_number("SESAME_FUZZ_CASES").unwrap_or(DEFAULT_CASES)
}

/// The run's seed, from `SESAME_FUZZ_SEED`.
pub fn seed() -> u64 {
    env_number("SESAME_FUZZ_SEED").unwrap_or(0x5e5a_3e00_f022)
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    match text.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={text:?} is not a whole number"),
    }
}

/// xorshift64*: fast, good enough to pick mutations, and the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Mutates valid seeds into inputs.
pub struct Mutator {
    pub rng: Rng,
    seeds: Vec<Vec<u8>>,
    dict: Vec<Vec<u8>>,
}

impl Mutator {
    pub fn new(rng: Rng, seeds: &[Vec<u8>], dict: &[&str]) -> Mutator {
        assert!(!seeds.is_empty(), "a fuzz target needs at least one seed");
        Mutator {
            rng,
            seeds: seeds.to_vec(),
            dict: dict.iter().map(|t| t.as_bytes().to_vec()).collect(),
        }
    }

    /// A seed with a few mutations (more, now and then), or rarely random bytes.
    pub fn input(&mut self) -> Vec<u8> {
        if self.rng.chance(2) {
            let len = self.rng.below(64);
            return (0..len).map(|_| self.rng.next() as u8).collect();
        }
        let mut data = self.rng.pick(&self.seeds).clone();
        let rounds = if self.rng.chance(10) {
            8 + self.rng.below(24)
        } else {
            1 + self.rng.below(4)
        };
        for _ in 0..rounds {
            self.mutate(&mut data);
        }
        data.truncate(MAX_LEN);
        data
    }

    /// Applies one mutation to `data`.
    pub fn mutate(&mut self, data: &mut Vec<u8>) {
        let rng = &mut self.rng;
        let len = data.len();
        let at = |rng: &mut Rng| rng.below(len + 1);
        match rng.below(10) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = *rng.pick(INTERESTING);
            }
            2 | 3 if !self.dict.is_empty() => {
                let token = rng.pick(&self.dict).clone();
                let i = at(rng);
                data.splice(i..i, token);
            }
            4 => {
                let i = at(rng);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                data.splice(i..i, bytes);
            }
            5 if len > 0 => {
                let start = rng.below(len);
                let end = start + 1 + rng.below((len - start).min(32));
                data.drain(start..end);
            }
            6 if len > 0 => {
                // A repeated stretch: long values, deep nesting, many parameters.
                let start = rng.below(len);
                let end = start + 1 + rng.below((len - start).min(16));
                let piece = data[start..end].to_vec();
                let most = if rng.chance(10) { 2000 } else { 16 };
                let times = 1 + rng.below(most);
                let repeated: Vec<u8> = piece
                    .iter()
                    .copied()
                    .cycle()
                    .take(piece.len() * times)
                    .collect();
                data.splice(end..end, repeated);
            }
            7 => {
                let other = rng.pick(&self.seeds).clone();
                let (i, j) = (at(rng), rng.below(other.len() + 1));
                data.truncate(i);
                data.extend_from_slice(&other[j..]);
            }
            8 if len > 0 => data.truncate(rng.below(len)),
            9 if len > 0 && !self.dict.is_empty() => {
                let start = rng.below(len);
                let end = start + 1 + rng.below((len - start).min(8));
                let token = rng.pick(&self.dict).clone();
                data.splice(start..end, token);
            }
            _ => data.push(*rng.pick(INTERESTING)),
        }
    }
}

/// Runs `target` on every seed, then on mutated inputs up to [`cases`] in all. A panic fails
/// the test, naming the target, the seed and case number, and the input.
pub fn run(name: &str, seeds: &[Vec<u8>], dict: &[&str], mut target: impl FnMut(&[u8])) {
    let (seed, cases) = (seed(), cases());
    let mut m = Mutator::new(Rng::new(seed ^ fnv(name)), seeds, dict);
    let started = std::time::Instant::now();
    for case in 0..cases {
        let input = match seeds.get(case as usize) {
            Some(s) => s.clone(),
            None => m.input(),
        };
        check(name, seed, case, &input, || target(&input));
    }
    eprintln!(
        "fuzz {name}: {cases} cases in {:.1?}, SESAME_FUZZ_SEED={seed}",
        started.elapsed()
    );
}

/// Runs one case; a panic becomes a failure that shows how to replay it.
pub fn check(name: &str, seed: u64, case: u64, input: &[u8], f: impl FnOnce()) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(f)) {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!(
            "fuzz target {name} panicked ({message}) on case {case} of SESAME_FUZZ_SEED={seed}; input ({} bytes): b\"{}\"",
            input.len(),
            input.escape_ascii()
        );
    }
}

/// FNV-1a: a per-target stream from one seed.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Bytes as text the way a `&str` parser receives them: lossily, as a server would after its
/// own UTF-8 check.
pub fn text(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

/// Seeds from string literals.
pub fn seeds(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}
