//! Security questions (SPEC §2, §6; security.md R27).
//!
//! NIST and ASVS advise against knowledge-based answers, so sspr never lets questions be the
//! only factor (that rule lives in the policy); this module makes them as good as they can be:
//!
//! * sspr ships its own predefined questions (`questions/predefined.rs`) with stable ids `p01`, `p02`…
//!   in every supported language; an administrator may add custom questions, whose id is
//!   derived from their text (`c` + 12 hex digits of SHA-256 of the NFC text), so reordering
//!   the admin's list does not orphan stored answers, while editing a question's text does
//!   (its meaning may have changed: users must answer it again).
//! * Answers are compared after a documented normalisation ([`normalise_answer`]: NFKC,
//!   Unicode default case folding, trimmed, inner whitespace collapsed), then hashed like
//!   passwords by the caller (argon2id) — never stored readable.
//! * Registration refuses the weak cases: too short or long (3–40 characters), the same
//!   answer twice, a question chosen twice, an answer that merely repeats the question.

mod predefined;

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::{Locale, ParseError};
use predefined::{PREDEFINED, Predefined};

/// Shortest and longest answer, in characters after normalisation (SPEC §6).
pub const MIN_ANSWER_CHARS: usize = 3;
pub const MAX_ANSWER_CHARS: usize = 40;
/// Raw input longer than this (bytes) is refused before any Unicode processing.
const MAX_RAW_ANSWER_BYTES: usize = 1_024;
/// Questions to register: the policy's range (SPEC §2).
pub const MIN_REQUIRED: u8 = 3;
pub const MAX_REQUIRED: u8 = 5;

/// The id of a question: `p01`… for a predefined one, `c` + 12 lowercase hex digits for a
/// custom one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct QuestionId(String);

impl QuestionId {
    /// A predefined id that exists, or a well-formed custom id (whether a custom question with
    /// that id is configured is checked against the current list by [`text`]).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let raw = raw.trim();
        if predefined(raw).is_some() {
            return Ok(Self(raw.to_owned()));
        }
        let custom = raw.strip_prefix('c').is_some_and(|hex| {
            hex.len() == 12 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if custom {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new("unknown security question"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_custom(&self) -> bool {
        self.0.starts_with('c')
    }
}

impl TryFrom<String> for QuestionId {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<QuestionId> for String {
    fn from(value: QuestionId) -> Self {
        value.0
    }
}

impl fmt::Display for QuestionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn predefined(id: &str) -> Option<&'static Predefined> {
    PREDEFINED.iter().find(|p| p.id == id)
}

fn locale_index(locale: Locale) -> usize {
    match locale {
        Locale::En => 0,
        Locale::De => 1,
        Locale::Fr => 2,
        Locale::Es => 3,
    }
}

/// The id of a custom question: `c` + the first 12 hex digits of SHA-256 over the trimmed,
/// NFC-normalised text.
pub fn custom_id(text: &str) -> QuestionId {
    let nfc: String = text.trim().nfc().collect();
    let digest = hex::encode(Sha256::digest(nfc.as_bytes()));
    QuestionId(format!("c{}", &digest[..12]))
}

/// The text of a question in `locale`; custom questions read as the administrator wrote
/// them, in every locale. `None` for a custom id no longer in `custom`.
pub fn text(id: &QuestionId, locale: Locale, custom: &[String]) -> Option<String> {
    if id.is_custom() {
        return custom
            .iter()
            .find(|c| custom_id(c) == *id)
            .map(|c| c.trim().to_owned());
    }
    predefined(id.as_str()).map(|p| p.text[locale_index(locale)].to_owned())
}

/// Every question a user may choose, predefined first, then the custom ones in the
/// administrator's order (a custom question listed twice appears once).
pub fn catalogue(locale: Locale, custom: &[String]) -> Vec<(QuestionId, String)> {
    let mut out: Vec<(QuestionId, String)> = PREDEFINED
        .iter()
        .map(|p| {
            (
                QuestionId(p.id.to_owned()),
                p.text[locale_index(locale)].to_owned(),
            )
        })
        .collect();
    for c in custom {
        let id = custom_id(c);
        if !out.iter().any(|(existing, _)| *existing == id) {
            out.push((id, c.trim().to_owned()));
        }
    }
    out
}

/// The form an answer is hashed and compared in: NFKC, Unicode default case folding (so
/// `STRASSE`, `Straße` and `strasse` agree, and full-width `ＡＢＣ` is `abc`), trimmed, with
/// every run of whitespace collapsed to one space. Idempotent.
pub fn normalise_answer(raw: &str) -> String {
    let mut s: String = raw.nfkc().collect();
    // Folding can produce text that NFKC changes again (and vice versa); repeat until stable
    // (one round in practice, a small bound against pathological input).
    for _ in 0..4 {
        let next: String = caseless::default_case_fold_str(&s).nfkc().collect();
        if next == s {
            break;
        }
        s = next;
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One problem with a submitted set of answers. `index` is the position in the submitted
/// list (0 for `field == "answers"`, a problem of the list as a whole); `field` is
/// `"question_id"`, `"answer"` or `"answers"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerError {
    pub index: usize,
    pub field: &'static str,
    pub message: String,
}

impl AnswerError {
    fn new(index: usize, field: &'static str, message: impl Into<String>) -> Self {
        Self {
            index,
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]: {}", self.field, self.index, self.message)
    }
}

/// Checks a registration of `(question id, answer)` pairs against SPEC §6 and returns the
/// parsed ids with normalised answers (to be hashed), or every problem found.
pub fn validate_registration(
    answers: &[(String, String)],
    required: u8,
    custom: &[String],
) -> Result<Vec<(QuestionId, String)>, Vec<AnswerError>> {
    if !(MIN_REQUIRED..=MAX_REQUIRED).contains(&required) {
        return Err(vec![AnswerError::new(
            0,
            "answers",
            format!("the policy must ask for {MIN_REQUIRED} to {MAX_REQUIRED} security questions"),
        )]);
    }
    let mut errors = Vec::new();
    if answers.len() != usize::from(required) {
        errors.push(AnswerError::new(
            0,
            "answers",
            format!("answer exactly {required} security questions"),
        ));
    }
    let mut seen_ids: Vec<QuestionId> = Vec::with_capacity(answers.len());
    let mut seen_answers: Vec<String> = Vec::with_capacity(answers.len());
    let mut accepted: Vec<(QuestionId, String)> = Vec::with_capacity(answers.len());
    for (index, (raw_id, raw_answer)) in answers.iter().enumerate() {
        let id = QuestionId::parse(raw_id)
            .ok()
            .filter(|id| text(id, Locale::En, custom).is_some());
        match &id {
            None => errors.push(AnswerError::new(
                index,
                "question_id",
                "choose a question from the list",
            )),
            Some(id) if seen_ids.contains(id) => errors.push(AnswerError::new(
                index,
                "question_id",
                "choose each question only once",
            )),
            Some(id) => seen_ids.push(id.clone()),
        }
        let answer = match check_answer(raw_answer, id.as_ref(), custom) {
            Ok(answer) => answer,
            Err(message) => {
                errors.push(AnswerError::new(index, "answer", message));
                continue;
            }
        };
        if seen_answers.contains(&answer) {
            errors.push(AnswerError::new(
                index,
                "answer",
                "give a different answer to each question",
            ));
            continue;
        }
        seen_answers.push(answer.clone());
        if let Some(id) = id {
            accepted.push((id, answer));
        }
    }
    if errors.is_empty() {
        Ok(accepted)
    } else {
        Err(errors)
    }
}

/// The normalised answer, or why it is refused.
fn check_answer(raw: &str, id: Option<&QuestionId>, custom: &[String]) -> Result<String, String> {
    let too_long = format!("an answer has at most {MAX_ANSWER_CHARS} characters");
    if raw.len() > MAX_RAW_ANSWER_BYTES {
        return Err(too_long);
    }
    let answer = normalise_answer(raw);
    let chars = answer.chars().count();
    if chars < MIN_ANSWER_CHARS {
        return Err(format!(
            "an answer has at least {MIN_ANSWER_CHARS} characters"
        ));
    }
    if chars > MAX_ANSWER_CHARS {
        return Err(too_long);
    }
    // The question shown may be in any locale, so compare with each.
    let repeats_question = id.is_some_and(|id| {
        Locale::ALL
            .into_iter()
            .filter_map(|l| text(id, l, custom))
            .any(|q| normalise_answer(&q) == answer)
    });
    if repeats_question {
        return Err("the answer may not repeat the question".to_owned());
    }
    Ok(answer)
}

#[cfg(test)]
mod tests;
