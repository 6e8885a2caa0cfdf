use std::collections::HashSet;

use proptest::prelude::*;

use super::*;

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(q, a)| ((*q).to_owned(), (*a).to_owned()))
        .collect()
}

#[test]
fn at_least_32_predefined_questions_with_stable_ids_in_every_language() {
    assert!(PREDEFINED.len() >= 32);
    let mut ids = HashSet::new();
    for (i, p) in PREDEFINED.iter().enumerate() {
        assert_eq!(p.id, format!("p{:02}", i + 1), "ids are sequential");
        assert!(ids.insert(p.id));
        for (l, t) in Locale::ALL.into_iter().zip(p.text) {
            assert!(t.chars().count() >= 15, "{} {l}: {t}", p.id);
            assert!(t.ends_with('?'), "{} {l}: {t}", p.id);
            assert_eq!(t.trim(), t);
        }
        assert!(p.text[3].contains('¿'), "Spanish opens with ¿: {}", p.id);
        assert!(
            p.text[2].ends_with(" ?"),
            "French spaces before ?: {}",
            p.id
        );
        // No two languages share a text (a missed translation).
        let distinct: HashSet<_> = p.text.iter().collect();
        assert_eq!(distinct.len(), 4, "{}", p.id);
    }
    for l in Locale::ALL {
        let texts: HashSet<_> = PREDEFINED.iter().map(|p| p.text[locale_index(l)]).collect();
        assert_eq!(texts.len(), PREDEFINED.len(), "duplicate question in {l}");
    }
}

#[test]
fn question_ids_parse() {
    assert_eq!(QuestionId::parse("p01").unwrap().as_str(), "p01");
    assert_eq!(QuestionId::parse(" p32 ").unwrap().as_str(), "p32");
    assert!(!QuestionId::parse("p07").unwrap().is_custom());
    let c = QuestionId::parse("c0123456789ab").unwrap();
    assert!(c.is_custom());
    for bad in [
        "",
        "p00",
        "p99",
        "p1",
        "p001",
        "P01",
        "c0123456789a",
        "c0123456789abc",
        "c0123456789AB",
        "cxyz456789abc",
        "x01",
        "p01;drop",
    ] {
        assert!(QuestionId::parse(bad).is_err(), "{bad:?}");
    }
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(json, "\"c0123456789ab\"");
    assert_eq!(serde_json::from_str::<QuestionId>(&json).unwrap(), c);
    assert!(serde_json::from_str::<QuestionId>("\"p99\"").is_err());
}

#[test]
fn custom_ids_follow_the_text_not_the_position() {
    let a = custom_id("What was your first car's registration?");
    assert!(a.is_custom());
    assert_eq!(a.as_str().len(), 13);
    assert_eq!(QuestionId::parse(a.as_str()).unwrap(), a);
    // NFC: a precomposed and a decomposed é are the same question.
    assert_eq!(custom_id("Café?"), custom_id("Cafe\u{301}?"));
    assert_eq!(custom_id(" Café? "), custom_id("Café?"));
    assert_ne!(custom_id("Café?"), custom_id("cafe?"));
    // The known SHA-256 of "abc" starts ba7816bf8f01.
    assert_eq!(custom_id("abc").as_str(), "cba7816bf8f01");
}

#[test]
fn texts_are_localised_and_custom_questions_are_shown_as_written() {
    let custom = vec!["Name of our first office dog?".to_owned()];
    let p01 = QuestionId::parse("p01").unwrap();
    assert_eq!(
        text(&p01, Locale::En, &custom).as_deref(),
        Some("What was the name of your first cuddly toy?")
    );
    assert_eq!(
        text(&p01, Locale::De, &custom).as_deref(),
        Some("Wie hieß Ihr erstes Kuscheltier?")
    );
    let cid = custom_id(&custom[0]);
    for l in Locale::ALL {
        assert_eq!(text(&cid, l, &custom).as_deref(), Some(custom[0].as_str()));
    }
    assert_eq!(text(&cid, Locale::En, &[]), None, "removed custom question");
}

#[test]
fn catalogue_lists_predefined_then_custom() {
    let custom = vec![
        "Custom one?".to_owned(),
        "Custom two?".to_owned(),
        "Custom one?".to_owned(),
    ];
    let cat = catalogue(Locale::Fr, &custom);
    assert_eq!(cat.len(), PREDEFINED.len() + 2);
    assert_eq!(cat[0].0.as_str(), "p01");
    assert_eq!(cat[0].1, "Comment s'appelait votre première peluche ?");
    assert_eq!(cat[PREDEFINED.len()].1, "Custom one?");
    assert_eq!(cat[PREDEFINED.len() + 1].1, "Custom two?");
    assert_eq!(catalogue(Locale::Es, &[]).len(), PREDEFINED.len());
}

#[test]
fn normalisation_folds_case_width_and_whitespace() {
    assert_eq!(
        normalise_answer("  Mr.   Fluffy\t\n Paws "),
        "mr. fluffy paws"
    );
    // German sharp s folds to "ss"; capital ẞ too.
    assert_eq!(normalise_answer("Straße"), "strasse");
    assert_eq!(normalise_answer("STRASSE"), normalise_answer("straße"));
    assert_eq!(normalise_answer("GROẞ"), "gross");
    // Full-width forms and ligatures (NFKC).
    assert_eq!(normalise_answer("ＡＢＣ　１２３"), "abc 123");
    assert_eq!(normalise_answer("ﬁsh"), "fish");
    // Composed and decomposed accents agree.
    assert_eq!(normalise_answer("Jose\u{301}"), normalise_answer("JOSÉ"));
    // Turkish: default (not Turkish-specific) folding. Dotted capital İ keeps its dot as a
    // combining mark; plain I folds to i; dotless ı stays dotless.
    assert_eq!(normalise_answer("İstanbul"), "i\u{307}stanbul");
    assert_eq!(normalise_answer("ISTANBUL"), "istanbul");
    assert_eq!(normalise_answer("ıstanbul"), "ıstanbul");
    // Greek final sigma folds like sigma.
    assert_eq!(normalise_answer("ΟΔΟΣ"), normalise_answer("οδος"));
    // No-break and other Unicode spaces are whitespace too.
    assert_eq!(normalise_answer("a\u{a0}\u{2003}b"), "a b");
    assert_eq!(normalise_answer(""), "");
}

proptest! {
    #[test]
    fn normalisation_is_idempotent(s in any::<String>()) {
        let once = normalise_answer(&s);
        prop_assert_eq!(normalise_answer(&once), once.clone());
        prop_assert_eq!(once.trim(), once.as_str());
        prop_assert!(!once.contains("  "));
    }

    #[test]
    fn normalisation_is_idempotent_on_tricky_letters(
        s in "[ßẞİIıiﬁﬀΣσςＡａ\u{301}\u{307}\u{a0} \tK\u{212a}ſ]{0,12}"
    ) {
        let once = normalise_answer(&s);
        prop_assert_eq!(normalise_answer(&once), once);
    }
}

#[test]
fn a_good_registration_is_accepted_and_normalised() {
    let custom = vec!["Name of our first office dog?".to_owned()];
    let cid = custom_id(&custom[0]);
    let got = validate_registration(
        &pairs(&[
            ("p01", "  Mr  Fluffy "),
            ("p14", "Jurassic Park"),
            (cid.as_str(), "Bello"),
        ]),
        3,
        &custom,
    )
    .unwrap();
    assert_eq!(
        got,
        vec![
            (QuestionId::parse("p01").unwrap(), "mr fluffy".to_owned()),
            (
                QuestionId::parse("p14").unwrap(),
                "jurassic park".to_owned()
            ),
            (cid, "bello".to_owned()),
        ]
    );
}

#[test]
fn the_number_of_answers_must_match_the_policy() {
    let three = pairs(&[("p01", "aaa"), ("p02", "bbb"), ("p03", "ccc")]);
    let errs = validate_registration(&three, 4, &[]).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!((errs[0].index, errs[0].field), (0, "answers"));
    assert!(errs[0].message.contains('4'));
    assert!(validate_registration(&three, 2, &[]).is_err());
    assert!(validate_registration(&three, 6, &[]).is_err());
    assert!(validate_registration(&[], 3, &[]).is_err());
    let five = pairs(&[
        ("p01", "aaa"),
        ("p02", "bbb"),
        ("p03", "ccc"),
        ("p04", "ddd"),
        ("p05", "eee"),
    ]);
    assert_eq!(validate_registration(&five, 5, &[]).unwrap().len(), 5);
}

#[test]
fn each_problem_is_reported_at_its_index() {
    let removed_custom = custom_id("An old question?");
    let errs = validate_registration(
        &pairs(&[
            ("p01", "same answer"),
            ("p99", "something"),
            ("p01", "other answer"),
            (removed_custom.as_str(), "whatever"),
            ("p05", "SAME   Answer"),
        ]),
        5,
        &[],
    )
    .unwrap_err();
    let got: Vec<(usize, &str)> = errs.iter().map(|e| (e.index, e.field)).collect();
    assert_eq!(
        got,
        vec![
            (1, "question_id"),
            (2, "question_id"),
            (3, "question_id"),
            (4, "answer"),
        ],
        "{errs:?}"
    );
}

#[test]
fn answer_length_is_counted_in_characters_after_normalisation() {
    let check = |a: &str| {
        validate_registration(
            &pairs(&[("p01", a), ("p02", "bbb"), ("p03", "ccc")]),
            3,
            &[],
        )
    };
    assert!(check("abc").is_ok());
    assert!(check("  ab  ").is_err(), "2 characters after trimming");
    assert!(check("a  b").is_ok(), "'a b' is 3 characters");
    assert!(check("ééé").is_ok(), "3 characters, 6 bytes");
    assert!(check(&"é".repeat(40)).is_ok(), "40 characters, 80 bytes");
    assert!(check(&"x".repeat(41)).is_err());
    assert!(check(&"x".repeat(100_000)).is_err());
    let err = check("ab").unwrap_err();
    assert_eq!((err[0].index, err[0].field), (0, "answer"));
}

#[test]
fn an_answer_may_not_repeat_the_question() {
    let custom = vec!["Your pet?".to_owned()];
    let cid = custom_id(&custom[0]);
    let errs = validate_registration(
        &pairs(&[
            ("p01", "aaa"),
            ("p02", "bbb"),
            (cid.as_str(), " YOUR  PET? "),
        ]),
        3,
        &custom,
    )
    .unwrap_err();
    assert_eq!((errs[0].index, errs[0].field), (2, "answer"));
    // Predefined texts are checked in every language (the 34-char German question).
    let de = "Wohin ging Ihr erster Flug?";
    let errs = validate_registration(
        &pairs(&[("p18", de), ("p02", "bbb"), ("p03", "ccc")]),
        3,
        &[],
    )
    .unwrap_err();
    assert_eq!((errs[0].index, errs[0].field), (0, "answer"));
}
