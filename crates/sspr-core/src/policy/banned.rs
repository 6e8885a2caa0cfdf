//! Banned-password scoring in the style of Microsoft Entra Password Protection (SPEC §3,
//! reference/entra-sspr.md §3.4).
//!
//! # The rule, as implemented
//!
//! 1. **Normalise** the password, every list term and every name term with [`normalize`]:
//!    lower-case, then `0→o`, `1→l`, `$→s`, `@→a` (the four documented substitutions only).
//! 2. **Exact pass.** Scan the normalised password left to right. At each position take the
//!    *longest* term that matches exactly there, across all three kinds of term (global list,
//!    custom list, name terms); on a tie of length the kinds rank Name, then Custom, then Global.
//!    A match consumes its characters and the scan resumes after it; otherwise the scan moves on
//!    one character.
//! 3. **Fuzzy pass**, only inside the gaps the exact pass left: scan each gap left to right; at
//!    each position take the longest window (of length |t|−1, |t| or |t|+1, lying wholly inside
//!    the gap) that is within Levenshtein distance 1 (one substitution, insertion or deletion —
//!    *not* a transposition) of some list term t (global or custom; on a tie Custom ranks
//!    first). Name terms are matched exactly only.
//! 4. **Score** = one point per list-term span + [`NAME_MATCH_POINTS`] per name span + one
//!    point per character left unconsumed (all of them, not only unique ones: U2, U3).
//!    The password is accepted iff the score is at least [`ACCEPT_SCORE`].
//!
//! Terms and names shorter than 4 characters after normalisation are ignored, so the shortest
//! window a fuzzy match can cover is 3 characters.
//!
//! # Choices that are ours, not Microsoft's
//!
//! * **Exact matches first, fuzzy matches only in the gaps** (rather than one scan that, at each
//!   position, tries exact then fuzzy). The one-scan reading contradicts observed behaviour: in U2
//!   (`July 4 2018`, custom terms "july" and "2018") it would let the fuzzy window `" 2018"`
//!   (one insertion away from "2018") start one character *before* the exact "2018", swallowing
//!   the space and scoring 4 (reject) where Entra accepted with 5; likewise D2
//!   (`C0ntos0@London` → `contosoalondon`) would fuzzy-match `alondon` and score 2 instead of the
//!   expected 3. Microsoft's answer about E7 ("blankf" scores as "blank" + "f") says the same:
//!   exact matches take precedence and fuzzy matching does not stretch a token over its
//!   neighbours.
//! * **A name match consumes its characters but earns no point** ([`NAME_MATCH_POINTS`] = 0).
//!   SPEC §3 gives "1 per *banned term* found + 1 per remaining character" and makes Microsoft's
//!   example E5 a golden test: first name "Poll", `p0LL23fb` → `poll23fb`, documented **Reject**.
//!   With one point for the name that password would score [poll]+2+3+f+b = 5 and be accepted,
//!   so the name must not earn a point (Microsoft's text says the name match alone gets the
//!   password rejected; our derived case D4, `xxPOLLxx99!`, still passes with 7 points).
//!   reference §3.4 says names "count as banned terms for scoring"; that reading cannot satisfy
//!   E5, and switching the constant to 1 is the whole change if it is ever preferred.
//! * **Overlaps between names and list terms** are settled by the exact pass: the longest match at
//!   a position wins whatever its kind; a name and a list term of the same length and text count
//!   as the name (the stricter outcome, as a name span earns fewer points).
//!
//! The score is not monotonic in the password: appending a character can complete a banned term
//! (with the term "abcdefgh", `abcdef` scores 6 but `abcdefg` is one deletion away and scores 1).
//!
//! # Speed
//!
//! Each [`BannedList`] carries a symmetric-delete index: every term and each of its
//! single-character deletions is stored as (31 bits of a 64-bit hash, kind, term id) in one
//! open-addressing table (8 bytes a slot, load ≤ 0.75, kept sorted by hash so that a miss stops
//! early; about 130 bytes a term in all for random 4–16-character terms, so ~125 MiB for a
//! million). A password window is looked up by itself and by each of its single-character
//! deletions (polynomial prefix hashes make each key a few multiplications), and every candidate
//! is confirmed against the real term text with a Levenshtein ≤ 1 check, which discards hash
//! collisions and transpositions. Keys known to be absent are remembered per window, which
//! saves about a third of the look-ups.
//! The cost of [`score`] grows with the password (about n·m² look-ups for n characters and
//! longest term m) and barely with the list: well under 50 µs for a 16-character password
//! against 100,000 or 1,000,000 terms (`cargo bench -p sspr-core --bench banned`). Callers
//! should apply the base policy's 256-character limit first.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::Serialize;

use crate::FieldError;

/// A password is accepted when it scores at least this many points.
pub const ACCEPT_SCORE: u32 = 5;
/// Shortest custom term an admin may enter, in characters after trimming.
pub const CUSTOM_TERM_MIN: usize = 4;
/// Longest custom term an admin may enter, in characters after trimming.
pub const CUSTOM_TERM_MAX: usize = 16;
/// Most terms a custom list may hold.
pub const CUSTOM_LIST_MAX: usize = 1000;
/// Points a name-term span earns (see the module docs for why this is 0).
pub const NAME_MATCH_POINTS: u32 = 0;

/// Shortest list term or name term, in characters after normalisation, that is matched at all.
const MIN_TERM_CHARS: usize = 4;
/// Shortest window a fuzzy match may cover: one deletion from the shortest term.
const MIN_FUZZY_WINDOW: usize = MIN_TERM_CHARS - 1;

/// The shipped global list (see `crates/sspr-core/data/README.md` for its source and licence).
const GLOBAL_TERMS: &str = include_str!("../../data/common-passwords.txt");

/// Lower-case, then apply the documented substitutions `0→o`, `1→l`, `$→s`, `@→a`.
pub fn normalize(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => 'l',
            '$' => 's',
            '@' => 'a',
            c => c,
        })
        .collect()
}

/// Slot kinds in the index: the whole term, or the term with one character deleted.
const WHOLE: u32 = 0;
const DELETION: u32 = 1;

/// A list of banned terms, normalised and deduplicated, with an index for exact and
/// edit-distance-1 look-ups. `BannedList::default()` is the empty list (e.g. a custom list that
/// is not enforced).
#[derive(Default)]
pub struct BannedList {
    /// All terms, concatenated.
    text: String,
    /// `ends[i]` is the byte offset in `text` where term `i` ends (it starts where `i - 1` ends).
    ends: Vec<u32>,
    /// Bit `n` is set when some term is `n` characters long.
    lengths: Vec<u64>,
    /// The longest term, in characters.
    max_chars: usize,
    /// Open-addressing table with linear probing, kept sorted by key (an "ordered" table, as
    /// Robin Hood hashing would leave it), so a look-up stops at the first larger key. A slot is
    /// 0 when empty, else `key << 33 | kind << 32 | (term id + 1)` where `key` is the top 31
    /// bits of the 64-bit hash; a key's home slot is `key · home_slots / 2³¹`. The vector runs
    /// past `home_slots` as far as displaced entries need, and always ends with an empty slot.
    slots: Vec<u64>,
    home_slots: usize,
}

impl std::fmt::Debug for BannedList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the terms themselves.
        f.debug_struct("BannedList")
            .field("terms", &self.len())
            .field("max_chars", &self.max_chars)
            .finish_non_exhaustive()
    }
}

impl BannedList {
    /// Build a list: each term is trimmed and normalised; duplicates and terms shorter than
    /// 4 characters after normalisation are dropped.
    ///
    /// # Panics
    ///
    /// If the terms add up to more than 4 GiB of text or 2³² − 1 terms.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(terms: I) -> Self {
        let mut norm: Vec<String> = terms
            .into_iter()
            .map(|t| normalize(t.as_ref().trim()))
            .filter(|t| t.chars().count() >= MIN_TERM_CHARS)
            .collect();
        norm.sort_unstable();
        norm.dedup();

        let mut text = String::with_capacity(norm.iter().map(String::len).sum());
        let mut ends = Vec::with_capacity(norm.len());
        let mut lengths: Vec<u64> = Vec::new();
        let mut max_chars = 0;
        let mut keys = 0usize;
        for t in &norm {
            text.push_str(t);
            ends.push(u32::try_from(text.len()).expect("banned list text exceeds 4 GiB"));
            let n = t.chars().count();
            if lengths.len() <= n / 64 {
                lengths.resize(n / 64 + 1, 0);
            }
            lengths[n / 64] |= 1 << (n % 64);
            max_chars = max_chars.max(n);
            keys += n + 1;
        }
        drop(norm);
        u32::try_from(ends.len() + 1).expect("2^32 or more banned terms");

        let mut list = BannedList {
            text,
            ends,
            lengths,
            max_chars,
            slots: Vec::new(),
            home_slots: 0,
        };
        if keys > 0 {
            // Load factor at most 0.75: short probe runs, about 11 bytes a key.
            list.home_slots = keys + keys / 3 + 1;
            list.slots = vec![0; list.home_slots + 1];
            let mut rolling = Rolling::default();
            let mut hashes = Vec::new();
            for id in 0..list.ends.len() {
                let term = list.term(id);
                rolling.fill(term.as_bytes());
                let n = term.len();
                hashes.clear();
                hashes.push((rolling.key(0, n), WHOLE));
                let mut prev: Option<&str> = None;
                for (start, c) in term.char_indices() {
                    let end = start + c.len_utf8();
                    let this = &term[start..end];
                    // Deleting either of two equal neighbours gives the same string.
                    if prev != Some(this) {
                        hashes.push((rolling.key_without(0, start, end, n), DELETION));
                    }
                    prev = Some(this);
                }
                let id = id as u32;
                for &(h, kind) in &hashes {
                    list.insert(h, kind, id);
                }
            }
        }
        list
    }

    /// The shipped global list of common passwords (29,899 from zxcvbn's frequency list; see
    /// `crates/sspr-core/data/README.md`), built on first use (a few milliseconds).
    ///
    /// It is not Microsoft's list, so some results differ from Entra's: `PasswordPotato` (U1,
    /// accepted by Entra) scores 2 here because "potato" is on it, and `Abcdefg1` scores 1.
    pub fn global() -> &'static BannedList {
        static GLOBAL: OnceLock<BannedList> = OnceLock::new();
        GLOBAL.get_or_init(|| BannedList::new(GLOBAL_TERMS.lines()))
    }

    /// How many distinct terms the list holds.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The normalised terms, in no particular order.
    pub fn terms(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|id| self.term(id))
    }

    /// Heap memory held by the list, in bytes (for capacity planning and the benchmark).
    #[doc(hidden)]
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self.ends.capacity() * size_of::<u32>()
            + self.lengths.capacity() * size_of::<u64>()
            + self.slots.capacity() * size_of::<u64>()
    }

    fn term(&self, id: usize) -> &str {
        let start = if id == 0 {
            0
        } else {
            self.ends[id - 1] as usize
        };
        &self.text[start..self.ends[id] as usize]
    }

    fn has_len(&self, n: usize) -> bool {
        n >= MIN_TERM_CHARS
            && self
                .lengths
                .get(n / 64)
                .is_some_and(|bits| bits & (1 << (n % 64)) != 0)
    }

    fn home(&self, key: u64) -> usize {
        ((key * self.home_slots as u64) >> 31) as usize
    }

    fn insert(&mut self, h: u64, kind: u32, id: u32) {
        let key = h >> 33;
        let value = (key << 33) | (u64::from(kind) << 32) | (u64::from(id) + 1);
        // Skip the smaller (and equal) keys, then shift the rest of the run one slot right.
        let mut i = self.home(key);
        while self.slots[i] != 0 && self.slots[i] >> 33 <= key {
            i += 1;
        }
        let mut j = i;
        while self.slots[j] != 0 {
            j += 1;
        }
        if j == self.slots.len() - 1 {
            self.slots.push(0);
        }
        self.slots.copy_within(i..j, i + 1);
        self.slots[i] = value;
    }

    /// Call `hit(term id, kind)` for every entry whose key matches `h`, until it returns true.
    fn probe(&self, h: u64, mut hit: impl FnMut(usize, u32) -> bool) -> bool {
        if self.home_slots == 0 {
            return false;
        }
        let key = h >> 33;
        let mut i = self.home(key);
        loop {
            let slot = self.slots[i];
            let k = slot >> 33;
            if slot == 0 || k > key {
                return false;
            }
            if k == key && hit((slot as u32 - 1) as usize, ((slot >> 32) & 1) as u32) {
                return true;
            }
            i += 1;
        }
    }

    /// Is `term` (normalised here) exactly one of the list's terms?
    pub fn contains(&self, term: &str) -> bool {
        let p = Normalized::new(term.trim());
        let n = p.chars();
        n > 0 && self.contains_window(&p, 0, n, &mut Memo::new(0, 0))
    }

    /// Is the window of `l` characters at character `i` exactly one of the terms?
    fn contains_window(&self, p: &Normalized, i: usize, l: usize, memo: &mut Memo) -> bool {
        let w = p.window(i, l);
        self.probe_window(p.window_key(i, l), Some((i, l)), memo, |id, kind| {
            kind == WHOLE && self.term(id) == w
        })
    }

    /// Is the window of `l` characters at character `i` of `p` within edit distance 1 of a term?
    /// `keys` caches the window's look-up keys across the lists.
    fn fuzzy_hit(
        &self,
        p: &Normalized,
        i: usize,
        l: usize,
        keys: &mut WindowKeys,
        memo: &mut Memo,
    ) -> bool {
        let w = p.window(i, l);
        let verify = |id: usize, _kind: u32| within_one(w, self.term(id));
        // The window itself: a term equal to it, or a term one insertion longer.
        if (self.has_len(l) || self.has_len(l + 1))
            && self.probe_window(keys.whole(p, i, l), Some((i, l)), memo, verify)
        {
            return true;
        }
        // Each deletion of the window: a term one shorter, or a same-length term that differs
        // in one place (its deletion at the same place is indexed). Transpositions also meet
        // here and are rejected by `within_one`.
        if l > MIN_FUZZY_WINDOW && (self.has_len(l - 1) || self.has_len(l)) {
            for &(h, window) in keys.deletions(p, i, l) {
                if self.probe_window(h, window, memo, verify) {
                    return true;
                }
            }
        }
        false
    }

    /// [`Self::probe`], skipped when `memo` knows that the key of `window` (the key `h` is that
    /// of a password window) has no entry in this list, and recording it when it finds none.
    fn probe_window(
        &self,
        h: u64,
        window: Option<(usize, usize)>,
        memo: &mut Memo,
        mut hit: impl FnMut(usize, u32) -> bool,
    ) -> bool {
        let Some((i, l)) = window else {
            return self.probe(h, hit);
        };
        if memo.is_absent(i, l) {
            return false;
        }
        let mut seen = false;
        let found = self.probe(h, |id, kind| {
            seen = true;
            hit(id, kind)
        });
        if !seen {
            memo.set_absent(i, l);
        }
        found
    }
}

/// For one list and one password: which windows' keys are known to have no entry in the list.
/// The end deletions of a window are themselves windows, and the exact pass has already looked
/// up most windows, so this saves about a third of the fuzzy pass's look-ups.
struct Memo {
    width: usize,
    absent: Vec<bool>,
}

impl Memo {
    fn new(chars: usize, longest_window: usize) -> Self {
        let width = longest_window.min(chars) + 1;
        Memo {
            width,
            absent: vec![false; chars * width],
        }
    }

    fn is_absent(&self, i: usize, l: usize) -> bool {
        l < self.width && self.absent[i * self.width + l]
    }

    fn set_absent(&mut self, i: usize, l: usize) {
        if l < self.width {
            self.absent[i * self.width + l] = true;
        }
    }
}

/// The look-up keys of one password window, computed once and shared by the lists; each
/// deletion comes with the window it equals, if it is one (the first or last character cut).
#[derive(Default)]
struct WindowKeys {
    whole: Option<u64>,
    deletions: Vec<(u64, Option<(usize, usize)>)>,
    deletions_done: bool,
}

impl WindowKeys {
    fn reset(&mut self) {
        self.whole = None;
        self.deletions.clear();
        self.deletions_done = false;
    }

    fn whole(&mut self, p: &Normalized, i: usize, l: usize) -> u64 {
        *self.whole.get_or_insert_with(|| p.window_key(i, l))
    }

    fn deletions(
        &mut self,
        p: &Normalized,
        i: usize,
        l: usize,
    ) -> &[(u64, Option<(usize, usize)>)] {
        if !self.deletions_done {
            self.deletions_done = true;
            let (a, b) = (p.bounds[i], p.bounds[i + l]);
            for k in i..i + l {
                if k > i && p.char_at(k) == p.char_at(k - 1) {
                    continue;
                }
                let (c, d) = (p.bounds[k], p.bounds[k + 1]);
                let window = if k == i {
                    Some((i + 1, l - 1))
                } else if k == i + l - 1 {
                    Some((i, l - 1))
                } else {
                    None
                };
                self.deletions
                    .push((p.rolling.key_without(a, c, d, b), window));
            }
        }
        &self.deletions
    }
}

/// Polynomial hashes of every prefix of a byte string, so that the hash of any substring, and
/// of any substring with one range cut out, costs a few multiplications. The key is the
/// polynomial hash (mod 2⁶⁴) put through a finaliser; collisions only cost a verification.
#[derive(Default)]
struct Rolling {
    /// `prefix[j]` is the hash of `bytes[..j]`.
    prefix: Vec<u64>,
    /// `power[j]` is BASE^j.
    power: Vec<u64>,
}

impl Rolling {
    const BASE: u64 = 0x9E37_79B9_7F4A_7C15;

    fn fill(&mut self, bytes: &[u8]) {
        self.prefix.clear();
        self.power.clear();
        self.prefix.push(0);
        self.power.push(1);
        let (mut h, mut pw) = (0u64, 1u64);
        for &b in bytes {
            // `+ 1` so that zero bytes still count.
            h = h.wrapping_mul(Self::BASE).wrapping_add(u64::from(b) + 1);
            pw = pw.wrapping_mul(Self::BASE);
            self.prefix.push(h);
            self.power.push(pw);
        }
    }

    /// The raw hash of `bytes[a..b]`.
    fn raw(&self, a: usize, b: usize) -> u64 {
        self.prefix[b].wrapping_sub(self.prefix[a].wrapping_mul(self.power[b - a]))
    }

    /// The key of `bytes[a..b]`.
    fn key(&self, a: usize, b: usize) -> u64 {
        finalise(self.raw(a, b))
    }

    /// The key of `bytes[a..c] ++ bytes[d..b]` (`a ≤ c ≤ d ≤ b`).
    fn key_without(&self, a: usize, c: usize, d: usize, b: usize) -> u64 {
        finalise(
            self.raw(a, c)
                .wrapping_mul(self.power[b - d])
                .wrapping_add(self.raw(d, b)),
        )
    }
}

/// murmur3's 64-bit finaliser: spreads the polynomial hash over all bits.
fn finalise(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

/// Levenshtein distance ≤ 1 (substitution, insertion or deletion), by characters.
fn within_one(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        within_one_slice(a.as_bytes(), b.as_bytes())
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        within_one_slice(&a, &b)
    }
}

fn within_one_slice<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let p = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if p == short.len() {
        return true;
    }
    if short.len() == long.len() {
        short[p + 1..] == long[p + 1..]
    } else {
        short[p..] == long[p + 1..]
    }
}

/// Which kind of term matched, for the rejection message (never reveal the term itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TermSource {
    /// The shipped list of common passwords.
    Global,
    /// The organisation's custom list.
    Custom,
    /// The user's first or last name, username or the organisation's name.
    Name,
}

/// The outcome of [`score`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BannedVerdict {
    pub score: u32,
    pub accepted: bool,
    /// One entry per matched span, in password order.
    pub matched: Vec<TermSource>,
}

/// A normalised password with its character boundaries.
struct Normalized {
    text: String,
    /// Byte offset of each character, plus the end: `bounds.len() == chars + 1`.
    bounds: Vec<usize>,
    rolling: Rolling,
}

impl Normalized {
    fn new(password: &str) -> Self {
        let text = normalize(password);
        let mut bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        bounds.push(text.len());
        let mut rolling = Rolling::default();
        rolling.fill(text.as_bytes());
        Normalized {
            text,
            bounds,
            rolling,
        }
    }

    fn chars(&self) -> usize {
        self.bounds.len() - 1
    }

    fn window(&self, i: usize, l: usize) -> &str {
        &self.text[self.bounds[i]..self.bounds[i + l]]
    }

    fn char_at(&self, i: usize) -> &str {
        self.window(i, 1)
    }

    fn window_key(&self, i: usize, l: usize) -> u64 {
        self.rolling.key(self.bounds[i], self.bounds[i + l])
    }
}

/// Name terms: normalised, trimmed, at least 4 characters, deduplicated; with their length in
/// characters.
fn name_terms(names: &[&str]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for name in names {
        let n = normalize(name.trim());
        let chars = n.chars().count();
        if chars >= MIN_TERM_CHARS && !out.iter().any(|(m, _)| *m == n) {
            out.push((n, chars));
        }
    }
    out
}

/// A matched span: first character, length in characters, kind.
type Span = (usize, usize, TermSource);

fn verdict(mut spans: Vec<Span>, chars: usize) -> BannedVerdict {
    spans.sort_unstable_by_key(|s| s.0);
    let consumed: usize = spans.iter().map(|s| s.1).sum();
    let span_points: u32 = spans
        .iter()
        .map(|s| match s.2 {
            TermSource::Name => NAME_MATCH_POINTS,
            TermSource::Global | TermSource::Custom => 1,
        })
        .sum();
    let leftover = u32::try_from(chars - consumed).unwrap_or(u32::MAX);
    let score = span_points.saturating_add(leftover);
    BannedVerdict {
        score,
        accepted: score >= ACCEPT_SCORE,
        matched: spans.into_iter().map(|s| s.2).collect(),
    }
}

/// The gaps (start, end) between spans sorted by start, over `0..chars`.
fn gaps(spans: &[Span], chars: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    for &(start, len, _) in spans {
        if start > at {
            out.push((at, start));
        }
        at = start + len;
    }
    if chars > at {
        out.push((at, chars));
    }
    out
}

/// Score `password` against the global and custom lists and the user's name terms (first and
/// last name, username, organisation name; those under 4 characters are ignored), by the rule
/// in the module docs.
pub fn score(
    password: &str,
    global: &BannedList,
    custom: &BannedList,
    names: &[&str],
) -> BannedVerdict {
    let p = Normalized::new(password);
    let n = p.chars();
    let names = name_terms(names);
    let lists = [(custom, TermSource::Custom), (global, TermSource::Global)];
    let longest_term = custom.max_chars.max(global.max_chars);
    let mut memos = [
        Memo::new(n, longest_term + 1),
        Memo::new(n, longest_term + 1),
    ];

    // Exact pass: longest match at each position across all kinds; ties rank Name, Custom,
    // Global (strict `>` keeps the earlier kind).
    let mut spans: Vec<Span> = Vec::new();
    let mut i = 0;
    while i < n {
        let mut best = (0, TermSource::Name);
        let rest = &p.text[p.bounds[i]..];
        for (name, chars) in &names {
            if *chars > best.0 && rest.starts_with(name.as_str()) {
                best = (*chars, TermSource::Name);
            }
        }
        for ((list, source), memo) in lists.iter().zip(&mut memos) {
            let longest = list.max_chars.min(n - i);
            for l in (MIN_TERM_CHARS.max(best.0 + 1)..=longest).rev() {
                if list.has_len(l) && list.contains_window(&p, i, l, memo) {
                    best = (l, *source);
                    break;
                }
            }
        }
        if best.0 > 0 {
            spans.push((i, best.0, best.1));
            i += best.0;
        } else {
            i += 1;
        }
    }

    // Fuzzy pass, inside the gaps only: longest window at each position; Custom before Global.
    let mut keys = WindowKeys::default();
    let mut fuzzy: Vec<Span> = Vec::new();
    for (start, end) in gaps(&spans, n) {
        let mut i = start;
        while i < end {
            let mut found = None;
            'windows: for l in (MIN_FUZZY_WINDOW..=(longest_term + 1).min(end - i)).rev() {
                keys.reset();
                for ((list, source), memo) in lists.iter().zip(&mut memos) {
                    if list.fuzzy_hit(&p, i, l, &mut keys, memo) {
                        found = Some((l, *source));
                        break 'windows;
                    }
                }
            }
            if let Some((l, source)) = found {
                fuzzy.push((i, l, source));
                i += l;
            } else {
                i += 1;
            }
        }
    }
    spans.extend(fuzzy);
    verdict(spans, n)
}

/// The same rule as [`score`], computed the slow, obvious way: every term of both lists is
/// compared with every window by a dynamic-programming Levenshtein distance. It is the
/// benchmark's baseline and the property tests' oracle.
#[doc(hidden)]
pub fn score_naive(
    password: &str,
    global: &BannedList,
    custom: &BannedList,
    names: &[&str],
) -> BannedVerdict {
    let text = normalize(password);
    let p: Vec<char> = text.chars().collect();
    let n = p.len();
    let names: Vec<Vec<char>> = name_terms(names)
        .into_iter()
        .map(|(s, _)| s.chars().collect())
        .collect();
    let lists = [(custom, TermSource::Custom), (global, TermSource::Global)];

    let mut spans: Vec<Span> = Vec::new();
    let mut i = 0;
    while i < n {
        let mut best = (0, TermSource::Name);
        for name in &names {
            if name.len() > best.0 && p[i..].starts_with(name) {
                best = (name.len(), TermSource::Name);
            }
        }
        for (list, source) in lists {
            for t in list.terms() {
                let l = t.chars().count();
                if l > best.0 && i + l <= n && t.chars().eq(p[i..i + l].iter().copied()) {
                    best = (l, source);
                }
            }
        }
        if best.0 > 0 {
            spans.push((i, best.0, best.1));
            i += best.0;
        } else {
            i += 1;
        }
    }

    let mut rows = (Vec::new(), Vec::new());
    let mut fuzzy: Vec<Span> = Vec::new();
    for (start, end) in gaps(&spans, n) {
        let mut i = start;
        while i < end {
            let mut best = (0, TermSource::Name);
            for (list, source) in lists {
                for t in list.terms() {
                    let tl = t.chars().count();
                    for l in [tl + 1, tl, tl - 1] {
                        if l > best.0
                            && l >= MIN_FUZZY_WINDOW
                            && i + l <= end
                            && levenshtein(&p[i..i + l], t, &mut rows) <= 1
                        {
                            best = (l, source);
                            break;
                        }
                    }
                }
            }
            if best.0 > 0 {
                fuzzy.push((i, best.0, best.1));
                i += best.0;
            } else {
                i += 1;
            }
        }
    }
    spans.extend(fuzzy);
    verdict(spans, n)
}

/// Levenshtein distance between `a` and `b`, cut short once it must exceed 1 (then it returns
/// 2). Plain dynamic programming: the naive baseline.
fn levenshtein(a: &[char], b: &str, rows: &mut (Vec<usize>, Vec<usize>)) -> usize {
    let (prev, cur) = rows;
    prev.clear();
    prev.extend(0..=a.len());
    for (j, cb) in b.chars().enumerate() {
        cur.clear();
        cur.push(j + 1);
        for (k, ca) in a.iter().enumerate() {
            let sub = prev[k] + usize::from(*ca != cb);
            cur.push(sub.min(prev[k + 1] + 1).min(cur[k] + 1));
        }
        if cur.iter().all(|&d| d > 1) {
            return 2;
        }
        std::mem::swap(prev, cur);
    }
    prev[a.len()].min(2)
}

/// Characters an admin may not put in a custom term: controls and invisible formatting marks.
fn is_printable(c: char) -> bool {
    !c.is_control()
        && !matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// A term as shown in an error message: quoted, escaped, and cut at 24 characters.
fn shown(term: &str) -> String {
    let mut s: String = term.chars().take(24).collect();
    if s.len() < term.len() {
        s.push('…');
    }
    format!("\"{}\"", s.escape_debug())
}

/// Admin input for the custom list: trims each term, checks 4–16 characters (after trimming)
/// and printable characters, drops case-insensitive duplicates (keeping the first spelling) and
/// allows at most 1000 distinct terms. Returns the cleaned list, or one error per bad term
/// (field `custom_banned_terms[i]`, `i` its index in the input); terms beyond the 1000th are
/// reported once, on the first of them.
pub fn validate_custom_terms(terms: &[String]) -> Result<Vec<String>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut cleaned: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut first_excess: Option<usize> = None;
    let mut excess = 0usize;
    for (i, raw) in terms.iter().enumerate() {
        let err = |message: String| FieldError {
            field: format!("custom_banned_terms[{i}]"),
            message,
        };
        let term = raw.trim();
        let chars = term.chars().count();
        if chars == 0 {
            errors.push(err("is empty".to_owned()));
        } else if !term.chars().all(is_printable) {
            errors.push(err(format!(
                "{} contains a character that is not printable",
                shown(term)
            )));
        } else if chars < CUSTOM_TERM_MIN {
            errors.push(err(format!(
                "{} is shorter than {CUSTOM_TERM_MIN} characters",
                shown(term)
            )));
        } else if chars > CUSTOM_TERM_MAX {
            errors.push(err(format!(
                "{} is longer than {CUSTOM_TERM_MAX} characters",
                shown(term)
            )));
        } else if seen.insert(term.to_lowercase()) {
            if cleaned.len() < CUSTOM_LIST_MAX {
                cleaned.push(term.to_owned());
            } else {
                first_excess.get_or_insert(i);
                excess += 1;
            }
        }
    }
    if let Some(i) = first_excess {
        errors.push(FieldError {
            field: format!("custom_banned_terms[{i}]"),
            message: format!(
                "the custom list can hold at most {CUSTOM_LIST_MAX} different terms; \
                 this term and the rest after it ({excess} in all) are too many"
            ),
        });
    }
    if errors.is_empty() {
        Ok(cleaned)
    } else {
        errors.sort_by_key(|e| {
            e.field
                .trim_start_matches("custom_banned_terms[")
                .trim_end_matches(']')
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        });
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TermSource::{Custom, Global, Name};
    use proptest::prelude::*;

    fn list(terms: &[&str]) -> BannedList {
        BannedList::new(terms.iter().copied())
    }

    fn empty() -> BannedList {
        BannedList::default()
    }

    /// Score with the indexed implementation and check that the naive one agrees.
    fn check(
        password: &str,
        global: &BannedList,
        custom: &BannedList,
        names: &[&str],
    ) -> BannedVerdict {
        let v = score(password, global, custom, names);
        assert_eq!(
            v,
            score_naive(password, global, custom, names),
            "naive differs for {password:?}"
        );
        v
    }

    fn assert_verdict(v: &BannedVerdict, score: u32, accepted: bool, matched: &[TermSource]) {
        assert_eq!(v.score, score, "{v:?}");
        assert_eq!(v.accepted, accepted, "{v:?}");
        assert_eq!(v.matched, matched, "{v:?}");
    }

    // ---- normalisation and the list ----

    #[test]
    fn normalize_lowercases_and_applies_the_four_documented_substitutions() {
        assert_eq!(normalize("Bl@nK"), "blank");
        assert_eq!(normalize("P@$$w0rd1"), "passwordl");
        // Only the documented four: no 3→e, !→i, 4→a …
        assert_eq!(normalize("L3tm3!n4"), "l3tm3!n4");
        assert_eq!(normalize("ÄBC"), "äbc");
    }

    #[test]
    fn list_normalises_dedups_and_drops_short_terms() {
        let l = list(&[
            "P@ssw0rd",
            "password",
            "PASSWORD",
            " password ",
            "abc",
            "a1b",
            "1234",
            "",
        ]);
        // "password" once; "1234" → "l234" stays (4 chars); "abc", "a1b" and "" are too short.
        assert_eq!(l.len(), 2);
        assert!(!l.is_empty());
        let mut terms: Vec<&str> = l.terms().collect();
        terms.sort_unstable();
        assert_eq!(terms, ["l234", "password"]);
        assert!(empty().is_empty());
        assert_eq!(empty().len(), 0);
        assert!(BannedList::new(["abc", " "]).is_empty());
        assert!(!empty().contains("password"));
        assert!(
            !format!("{l:?}").contains("password"),
            "Debug must not reveal terms"
        );
    }

    #[test]
    fn global_list_is_shipped_built_once_and_holds_the_usual_suspects() {
        let g = BannedList::global();
        assert!(std::ptr::eq(g, BannedList::global()));
        assert!(g.len() >= 10_000, "{}", g.len());
        for common in [
            "password", "qwerty", "letmein", "welcome", "iloveyou", "monkey", "dragon",
        ] {
            assert!(g.contains(common), "{common} should be in the global list");
        }
        for line in GLOBAL_TERMS.lines() {
            let n = normalize(line).chars().count();
            assert!((4..=16).contains(&n), "{line:?}");
        }
    }

    #[test]
    fn within_one_is_levenshtein_not_damerau() {
        assert!(within_one("abcdef", "abcdef"));
        assert!(within_one("abcdeg", "abcdef"));
        assert!(within_one("abcdefg", "abcdef"));
        assert!(within_one("abcde", "abcdef"));
        assert!(within_one("bcdef", "abcdef"));
        assert!(within_one("äbcd", "abcd"));
        assert!(
            !within_one("bacdef", "abcdef"),
            "a transposition is two edits"
        );
        assert!(!within_one("abcd", "abcdef"));
        assert!(!within_one("axcdey", "abcdef"));
    }

    // ---- Microsoft's worked examples (reference §3.2) ----

    #[test]
    fn e1_normalised_exact_term() {
        let v = check("Bl@nK", &list(&["blank"]), &empty(), &[]);
        assert_verdict(&v, 1, false, &[Global]);
    }

    #[test]
    fn e2_substitution() {
        let v = check("abcdeg", &list(&["abcdef"]), &empty(), &[]);
        assert_verdict(&v, 1, false, &[Global]);
    }

    #[test]
    fn e3_insertion() {
        // The exact "abcdef" wins at position 0, then "g" is a leftover: 2 points.
        let v = check("abcdefg", &list(&["abcdef"]), &empty(), &[]);
        assert_verdict(&v, 2, false, &[Global]);
    }

    #[test]
    fn e4_deletion() {
        let v = check("abcde", &list(&["abcdef"]), &empty(), &[]);
        assert_verdict(&v, 1, false, &[Global]);
    }

    #[test]
    fn e5_first_name_substring_rejects() {
        // [poll] earns NAME_MATCH_POINTS (0) + 2,3,f,b = 4 → reject, as documented.
        let v = check("p0LL23fb", &empty(), &empty(), &["Poll"]);
        assert_verdict(&v, 4 + NAME_MATCH_POINTS, false, &[Name]);
        // Also with the shipped list always on, as in Entra.
        let v = check(
            "p0LL23fb",
            BannedList::global(),
            &empty(),
            &["Poll", "Smith"],
        );
        assert!(!v.accepted, "{v:?}");
    }

    #[test]
    fn e5_old_three_character_name_is_not_matched() {
        // BAN18's "Pol": under the 4-character rule it is ignored (and "P0l123fb" normalises
        // to "poll23fb", which has no other match): 8 points.
        let v = check("P0l123fb", &empty(), &empty(), &["Pol"]);
        assert_verdict(&v, 8, true, &[]);
    }

    #[test]
    fn e6_contoso_blank_12_scores_4() {
        let v = check(
            "C0ntos0Blank12",
            &list(&["blank"]),
            &list(&["contoso"]),
            &[],
        );
        assert_verdict(&v, 4, false, &[Custom, Global]);
    }

    #[test]
    fn e7_contoso_blank_f9_bang_scores_5() {
        // "blankf" is exact "blank" + "f", not one fuzzy match; "!" is not mapped.
        let v = check(
            "ContoS0Bl@nkf9!",
            &list(&["blank"]),
            &list(&["contoso"]),
            &[],
        );
        assert_verdict(&v, 5, true, &[Custom, Global]);
    }

    #[test]
    fn e8_password_is_on_the_shipped_global_list() {
        let v = check("PassWord", BannedList::global(), &empty(), &[]);
        assert_verdict(&v, 1, false, &[Global]);
    }

    #[test]
    fn e9_lachrymose_bang_1_scores_3() {
        let v = check("LaChRymoSE!1", &empty(), &list(&["lachrymose"]), &[]);
        assert_verdict(&v, 3, false, &[Custom]);
    }

    // ---- user reports (reference §3.3) ----

    #[test]
    fn u1_password_potato_accepted() {
        let v = check("PasswordPotato", &list(&["password"]), &empty(), &[]);
        assert_verdict(&v, 7, true, &[Global]);
    }

    #[test]
    fn u1_with_the_shipped_list_potato_is_banned_too() {
        // Our global list (from zxcvbn) also holds "potato", unlike what Entra's did in 2018.
        let v = check("PasswordPotato", BannedList::global(), &empty(), &[]);
        assert_verdict(&v, 2, false, &[Global, Global]);
    }

    #[test]
    fn u2_july_4_2018_counts_every_leftover_character() {
        // [july] + ' ' + '4' + ' ' + [2018] = 5. A single-scan rule would let the fuzzy window
        // " 2018" swallow the space and score 4: exact matches go first.
        let v = check("July 4 2018", &empty(), &list(&["july", "2018"]), &[]);
        assert_verdict(&v, 5, true, &[Custom, Custom]);
    }

    #[test]
    fn u3_july2018_plus_three_symbols_or_capitals() {
        let custom = list(&["july", "2018"]);
        for p in ["july2018...", "July2018ABC", "JULY2018!?#", "july2018%^&"] {
            let v = check(p, &empty(), &custom, &[]);
            assert_verdict(&v, 5, true, &[Custom, Custom]);
        }
    }

    // ---- derived cases (reference §3.4) ----

    #[test]
    fn d1_contoso_bang_1() {
        let v = check("Contoso!1", &empty(), &list(&["contoso"]), &[]);
        assert_verdict(&v, 3, false, &[Custom]);
    }

    #[test]
    fn d2_contoso_at_london() {
        // [contoso] + [a] + [london] = 3 (the fuzzy "alondon" must not take the exact "london").
        let v = check(
            "C0ntos0@London",
            &empty(),
            &list(&["contoso", "london"]),
            &[],
        );
        assert_verdict(&v, 3, false, &[Custom, Custom]);
    }

    #[test]
    fn d3_london_hq() {
        let v = check("LondonHQ", &empty(), &list(&["contoso", "london"]), &[]);
        assert_verdict(&v, 3, false, &[Custom]);
    }

    #[test]
    fn d4_name_found_but_enough_points() {
        // [poll] + x,x,x,x,9,9,! → 7 + NAME_MATCH_POINTS (the table's 8 assumes 1 point a name).
        let v = check("xxPOLLxx99!", &empty(), &empty(), &["Poll"]);
        assert_verdict(&v, 7 + NAME_MATCH_POINTS, true, &[Name]);
    }

    #[test]
    fn d5_two_character_name_is_ignored() {
        let v = check("Al12345678!", &empty(), &empty(), &["Al"]);
        assert_verdict(&v, 11, true, &[]);
    }

    #[test]
    fn d6_custom_term_of_3_characters_is_refused() {
        let err = validate_custom_terms(&["abc".to_owned()]).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].field, "custom_banned_terms[0]");
        assert_eq!(err[0].message, "\"abc\" is shorter than 4 characters");
    }

    #[test]
    fn d7_custom_term_of_17_characters_is_refused() {
        let terms = vec!["contoso".to_owned(), "a".repeat(17)];
        let err = validate_custom_terms(&terms).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].field, "custom_banned_terms[1]");
        assert!(
            err[0].message.ends_with("is longer than 16 characters"),
            "{}",
            err[0].message
        );
    }

    #[test]
    fn d8_the_1001st_custom_term_is_refused() {
        let mut terms: Vec<String> = (0..1000).map(|i| format!("term{i:04}")).collect();
        assert_eq!(validate_custom_terms(&terms).unwrap().len(), 1000);
        terms.push("oneTooMany".to_owned());
        let err = validate_custom_terms(&terms).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].field, "custom_banned_terms[1000]");
        assert!(
            err[0].message.contains("at most 1000"),
            "{}",
            err[0].message
        );
    }

    #[test]
    fn d14_each_instance_counts() {
        let v = check("blankblank", &list(&["blank"]), &empty(), &[]);
        assert_verdict(&v, 2, false, &[Global, Global]);
    }

    #[test]
    fn d15_blank_with_nine_leftovers() {
        let v = check("Blank!2024#xyz", &list(&["blank"]), &empty(), &[]);
        assert_verdict(&v, 10, true, &[Global]);
    }

    // ---- the rule's finer points ----

    #[test]
    fn fuzzy_prefers_the_longest_window() {
        // "abxdefg": "abxdef" (one substitution) is the longest window within 1 of "abcdef".
        let v = check("abxdefg", &list(&["abcdef"]), &empty(), &[]);
        assert_verdict(&v, 2, false, &[Global]);
        // And a deletion window can be longer than the term's exact span would be.
        let v = check("zzabcxdefzz", &list(&["abcdef"]), &empty(), &[]);
        assert_verdict(&v, 5, true, &[Global]);
    }

    #[test]
    fn transpositions_are_not_one_edit() {
        // Every adjacent pair swapped: no window is within one edit of the term.
        let v = check("badcfehg", &list(&["abcdefgh"]), &empty(), &[]);
        assert_verdict(&v, 8, true, &[]);
    }

    #[test]
    fn fuzzy_terms_need_four_characters() {
        // "abc" is not a term at all; "abd" is not near anything.
        let v = check("abdxyzuv", &list(&["abc"]), &empty(), &[]);
        assert_verdict(&v, 8, true, &[]);
        // A three-character window may be one deletion from a four-character term.
        let v = check("qrsXabdXtuv", &list(&["abcd"]), &empty(), &[]);
        assert_verdict(&v, 9, true, &[Global]);
    }

    #[test]
    fn names_match_exactly_and_after_normalisation() {
        // Exact only: "smiht" is not the name "Smith".
        let v = check("Smiht2024!", &empty(), &empty(), &["Smith"]);
        assert_verdict(&v, 10, true, &[]);
        let v = check("$mith2024!", &empty(), &empty(), &["Smith"]);
        assert_verdict(
            &v,
            5 + NAME_MATCH_POINTS,
            5 + NAME_MATCH_POINTS >= ACCEPT_SCORE,
            &[Name],
        );
        // Blank names, short names and duplicates are ignored.
        let v = check(
            "Contoso-2024",
            &empty(),
            &empty(),
            &["", " ", "Co", "contoso", "CONTOSO"],
        );
        assert_verdict(&v, 5 + NAME_MATCH_POINTS, true, &[Name]);
    }

    #[test]
    fn longest_exact_match_wins_across_kinds_and_ties_go_to_the_name() {
        // The custom "contosoltd" is longer than the name "contoso" at the same position.
        let v = check(
            "ContosoLtd99",
            &empty(),
            &list(&["contosoltd"]),
            &["Contoso"],
        );
        assert_verdict(&v, 3, false, &[Custom]);
        // The name "contosoltd" is longer than the global "contoso".
        let v = check(
            "ContosoLtd99",
            &list(&["contoso"]),
            &empty(),
            &["ContosoLtd"],
        );
        assert_verdict(&v, 2 + NAME_MATCH_POINTS, false, &[Name]);
        // Same text in all three: it counts as the name.
        let v = check(
            "Contoso99",
            &list(&["contoso"]),
            &list(&["contoso"]),
            &["Contoso"],
        );
        assert_verdict(&v, 2 + NAME_MATCH_POINTS, false, &[Name]);
        // Same text in both lists: custom.
        let v = check("Contoso99", &list(&["contoso"]), &list(&["contoso"]), &[]);
        assert_verdict(&v, 3, false, &[Custom]);
    }

    #[test]
    fn name_spans_leave_gaps_for_fuzzy_list_matches() {
        // Name "Poll" taken exactly; the rest "blamk" is one substitution from "blank".
        let v = check("PollBlamk", &list(&["blank"]), &empty(), &["Poll"]);
        assert_verdict(&v, 1 + NAME_MATCH_POINTS, false, &[Name, Global]);
    }

    #[test]
    fn appending_a_character_can_lower_the_score() {
        // Why "once accepted, appending never drops below 5" is not a property of this rule.
        let g = list(&["abcdefgh"]);
        assert_verdict(&check("abcdef", &g, &empty(), &[]), 6, true, &[]);
        assert_verdict(&check("abcdefg", &g, &empty(), &[]), 1, false, &[Global]);
    }

    #[test]
    fn unicode_passwords_and_terms() {
        let g = list(&["pässword", "ñandú"]);
        assert_verdict(&check("PÄSSWORD!", &g, &empty(), &[]), 2, false, &[Global]);
        assert_verdict(&check("pässwörd!", &g, &empty(), &[]), 2, false, &[Global]);
        assert_verdict(&check("xyÑandu€", &g, &empty(), &[]), 4, false, &[Global]);
        assert_verdict(&check("", &g, &empty(), &[]), 0, false, &[]);
    }

    #[test]
    fn validate_trims_dedups_case_insensitively_and_keeps_the_first_spelling() {
        let terms: Vec<String> = ["  Contoso ", "CONTOSO", "Fabrikam", "fabrikam", "July 2018"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            validate_custom_terms(&terms).unwrap(),
            ["Contoso", "Fabrikam", "July 2018"]
        );
        assert_eq!(validate_custom_terms(&[]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn validate_reports_every_bad_term_with_its_index() {
        let terms: Vec<String> = [
            "ok-term",
            "",
            "ab",
            "tab\there",
            "zero\u{200B}width",
            "x".repeat(40).as_str(),
        ]
        .map(String::from)
        .to_vec();
        let err = validate_custom_terms(&terms).unwrap_err();
        let fields: Vec<&str> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "custom_banned_terms[1]",
                "custom_banned_terms[2]",
                "custom_banned_terms[3]",
                "custom_banned_terms[4]",
                "custom_banned_terms[5]",
            ]
        );
        assert_eq!(err[0].message, "is empty");
        assert_eq!(err[1].message, "\"ab\" is shorter than 4 characters");
        assert!(
            err[2].message.contains("not printable"),
            "{}",
            err[2].message
        );
        assert!(
            err[3].message.contains("not printable"),
            "{}",
            err[3].message
        );
        assert!(
            err[4]
                .message
                .starts_with(&format!("\"{}…\"", "x".repeat(24))),
            "{}",
            err[4].message
        );
    }

    #[test]
    fn validate_counts_distinct_terms_against_the_limit() {
        // 1000 distinct terms plus 500 case-variants of them is still 1000 terms.
        let mut terms: Vec<String> = (0..1000).map(|i| format!("term{i:04}")).collect();
        terms.extend((0..500).map(|i| format!("TERM{i:04}")));
        assert_eq!(validate_custom_terms(&terms).unwrap().len(), 1000);
        terms.extend((0..3).map(|i| format!("more{i:04}")));
        let err = validate_custom_terms(&terms).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].field, "custom_banned_terms[1500]");
        assert!(err[0].message.contains("(3 in all)"), "{}", err[0].message);
    }

    #[test]
    fn validated_terms_make_a_list_of_the_same_size() {
        let terms: Vec<String> = ["Contoso", "Fabrikam", "July"].map(String::from).to_vec();
        let ok = validate_custom_terms(&terms).unwrap();
        assert_eq!(BannedList::new(&ok).len(), 3);
    }

    // ---- properties ----

    /// A small alphabet, with the substituted characters, so that random terms and passwords
    /// collide often enough to exercise exact, fuzzy and name matches.
    fn small_word(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop::sample::select(vec![
                'a', 'b', 'c', 'o', 'l', 's', 'A', 'B', '0', '1', '$', '@', '!', 'é',
            ]),
            len,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn indexed_and_naive_agree(
            global in proptest::collection::vec(small_word(2..=9), 0..12),
            custom in proptest::collection::vec(small_word(2..=7), 0..4),
            names in proptest::collection::vec(small_word(2..=6), 0..3),
            password in small_word(0..=20),
        ) {
            let global = BannedList::new(&global);
            let custom = BannedList::new(&custom);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            prop_assert_eq!(
                score(&password, &global, &custom, &names),
                score_naive(&password, &global, &custom, &names)
            );
        }

        #[test]
        fn a_password_with_no_term_is_scored_by_its_length(
            global in proptest::collection::vec("[a-m]{4,10}", 0..20),
            custom in proptest::collection::vec("[a-m]{4,10}", 0..5),
            names in proptest::collection::vec("[a-m]{4,10}", 0..3),
            password in "[n-zN-Z2-9#%&*+=?^~ ]{0,24}",
        ) {
            // Disjoint alphabets: no exact, fuzzy or name match is possible.
            let global = BannedList::new(&global);
            let custom = BannedList::new(&custom);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let v = score(&password, &global, &custom, &names);
            let n = password.chars().count() as u32;
            prop_assert_eq!(v.score, n);
            prop_assert_eq!(v.accepted, n >= 5);
            prop_assert!(v.matched.is_empty());
        }

        #[test]
        fn a_term_with_at_most_three_other_characters_is_rejected(
            term in "[a-m]{4,16}",
            prefix in "[n-zN-Z2-9#%&]{0,3}",
            suffix_len in 0usize..=3,
            suffix in "[n-zN-Z2-9#%&]{3}",
            as_custom in any::<bool>(),
        ) {
            let suffix: String = suffix.chars().take(suffix_len.min(3 - prefix.chars().count())).collect();
            let terms = BannedList::new([term.as_str()]);
            let (global, custom) = if as_custom { (empty(), terms) } else { (terms, empty()) };
            let password = format!("{prefix}{}{suffix}", term.to_uppercase());
            let v = score(&password, &global, &custom, &[]);
            prop_assert!(!v.accepted, "{password:?} → {v:?}");
            prop_assert_eq!(v.matched.len(), 1);
        }

        #[test]
        fn score_depends_only_on_the_normalised_password(
            global in proptest::collection::vec(small_word(4..=8), 0..8),
            password in small_word(0..=16),
        ) {
            let global = BannedList::new(&global);
            let a = score(&password, &global, &empty(), &[]);
            prop_assert_eq!(&a, &score(&normalize(&password), &global, &empty(), &[]));
            prop_assert_eq!(&a, &score(&password.to_uppercase(), &global, &empty(), &[]));
            prop_assert!(a.score as usize <= normalize(&password).chars().count());
        }
    }
}
