//! Cross-check of veilgate's TCF decoder against the IAB reference library.
//!
//! `tests/fixtures/tcf/generated.json` is written by `tools/tcf/generate.mjs` with
//! `@iabtcf/core` 1.5.6: random TC strings (both vendor encodings, publisher restrictions,
//! disclosed vendors, publisher TC) and what the reference decoder reads from each.
//! Every field veilgate decodes must agree, for every string.

use std::collections::BTreeMap;

use serde_json::Value;
use veilgate::consent::tcf::{self, VendorEncoding, VendorSet};

/// (purpose, restriction type, vendor ranges)
type Restriction = (u8, u8, Vec<(u16, u16)>);

const FIXTURE: &str = include_str!("../fixtures/tcf/generated.json");

fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("id"))
        .collect()
}

fn bits_to_ids(set: u64, width: u8) -> Vec<u64> {
    (1..=u64::from(width))
        .filter(|i| set >> (i - 1) & 1 == 1)
        .collect()
}

fn ranges(v: &Value) -> Vec<(u16, u16)> {
    v.as_array()
        .expect("ranges")
        .iter()
        .map(|r| (r[0].as_u64().unwrap() as u16, r[1].as_u64().unwrap() as u16))
        .collect()
}

fn merge(mut rs: Vec<(u16, u16)>) -> Vec<(u16, u16)> {
    rs.sort_unstable();
    let mut out: Vec<(u16, u16)> = Vec::new();
    for (s, e) in rs {
        match out.last_mut() {
            Some(last) if u32::from(last.1) + 1 >= u32::from(s) => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn check_vendors(case: usize, what: &str, got: &VendorSet, want: &Value) -> Result<(), String> {
    let enc = match got.encoding {
        VendorEncoding::Bitfield => "bitfield",
        VendorEncoding::Range => "range",
    };
    let mut errs = Vec::new();
    if u64::from(got.max_vendor_id) != want["maxId"].as_u64().unwrap() {
        errs.push(format!("maxId {} != {}", got.max_vendor_id, want["maxId"]));
    }
    if enc != want["encoding"].as_str().unwrap() {
        errs.push(format!("encoding {enc} != {}", want["encoding"]));
    }
    if got.ranges() != ranges(&want["ranges"]).as_slice() {
        errs.push(format!("ranges {:?} != {}", got.ranges(), want["ranges"]));
    }
    // `contains` must agree with the ranges at every id up to maxId + 1.
    let want_ids: Vec<u16> = ranges(&want["ranges"])
        .into_iter()
        .flat_map(|(s, e)| s..=e)
        .collect();
    for id in 0..=got.max_vendor_id.saturating_add(1) {
        if got.contains(id) != want_ids.binary_search(&id).is_ok() {
            errs.push(format!("contains({id}) wrong"));
            break;
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!("case {case} {what}: {}", errs.join("; ")))
    }
}

#[test]
fn decoder_agrees_with_iabtcf_core_on_every_generated_string() {
    let doc: Value = serde_json::from_str(FIXTURE).expect("fixture json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(
        cases.len() >= 500,
        "expected at least 500 generated strings, got {}",
        cases.len()
    );

    let mut failures = Vec::new();
    let mut encodings: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        let s = case["tc"].as_str().unwrap();
        let w = &case["expect"];
        let tc = match tcf::decode(s) {
            Ok(tc) => tc,
            Err(e) => {
                failures.push(format!("case {i}: decode failed: {e} ({s})"));
                continue;
            }
        };
        let mut field = |name: &str, got: Value, want: &Value| {
            if &got != want {
                failures.push(format!("case {i} {name}: got {got}, want {want}"));
            }
        };
        field("version", tc.version.into(), &w["version"]);
        field("created", tc.created.into(), &w["created"]);
        field("lastUpdated", tc.last_updated.into(), &w["lastUpdated"]);
        field("cmpId", tc.cmp_id.into(), &w["cmpId"]);
        field("cmpVersion", tc.cmp_version.into(), &w["cmpVersion"]);
        field(
            "consentScreen",
            tc.consent_screen.into(),
            &w["consentScreen"],
        );
        field(
            "consentLanguage",
            tc.consent_language.clone().into(),
            &w["consentLanguage"],
        );
        field(
            "vendorListVersion",
            tc.vendor_list_version.into(),
            &w["vendorListVersion"],
        );
        field(
            "policyVersion",
            tc.tcf_policy_version.into(),
            &w["policyVersion"],
        );
        field(
            "isServiceSpecific",
            tc.is_service_specific.into(),
            &w["isServiceSpecific"],
        );
        field(
            "useNonStandardTexts",
            tc.use_non_standard_texts.into(),
            &w["useNonStandardTexts"],
        );
        field(
            "purposeOneTreatment",
            tc.purpose_one_treatment.into(),
            &w["purposeOneTreatment"],
        );
        field(
            "publisherCountryCode",
            tc.publisher_cc.clone().into(),
            &w["publisherCountryCode"],
        );
        field(
            "specialFeatureOptins",
            bits_to_ids(u64::from(tc.special_feature_opt_ins), 12).into(),
            &w["specialFeatureOptins"],
        );
        field(
            "purposeConsents",
            bits_to_ids(u64::from(tc.purposes_consent), 24).into(),
            &w["purposeConsents"],
        );
        field(
            "purposeLegitimateInterests",
            bits_to_ids(u64::from(tc.purposes_li_transparency), 24).into(),
            &w["purposeLegitimateInterests"],
        );
        // The accessor API agrees with the raw bits.
        let via_api: Vec<u64> = tc
            .purposes_consent_ids()
            .into_iter()
            .map(u64::from)
            .collect();
        assert_eq!(
            via_api,
            ids(&w["purposeConsents"]),
            "case {i} purpose_consent_ids"
        );

        for (name, got) in [
            ("vendorConsents", &tc.vendor_consents),
            ("vendorLegitimateInterests", &tc.vendor_legitimate_interests),
        ] {
            if let Err(e) = check_vendors(i, name, got, &w[name]) {
                failures.push(e);
            }
            let enc = if got.encoding == VendorEncoding::Range {
                "range"
            } else {
                "bitfield"
            };
            *encodings.entry((name, enc)).or_default() += 1;
        }

        // Publisher restrictions: grouped by (purpose, type), vendor ids merged.
        let mut got_restr: BTreeMap<(u8, u8), Vec<(u16, u16)>> = BTreeMap::new();
        for r in &tc.publisher_restrictions {
            got_restr
                .entry((r.purpose_id, r.restriction_type))
                .or_default()
                .extend(&r.vendors);
        }
        let got_restr: Vec<Restriction> = got_restr
            .into_iter()
            .map(|((p, t), v)| (p, t, merge(v)))
            .collect();
        let want_restr: Vec<Restriction> = w["publisherRestrictions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["purpose"].as_u64().unwrap() as u8,
                    r["type"].as_u64().unwrap() as u8,
                    ranges(&r["vendors"]),
                )
            })
            .collect();
        if got_restr != want_restr {
            failures.push(format!(
                "case {i} publisherRestrictions: got {got_restr:?}, want {want_restr:?}"
            ));
        }

        match (&tc.disclosed_vendors, &w["disclosedVendors"]) {
            (None, Value::Null) => {}
            (Some(got), want @ Value::Object(_)) => {
                if let Err(e) = check_vendors(i, "disclosedVendors", got, want) {
                    failures.push(e);
                }
            }
            (got, want) => failures.push(format!(
                "case {i} disclosedVendors: got {got:?}, want {want}"
            )),
        }

        match (&tc.publisher_tc, &w["publisherTc"]) {
            (None, Value::Null) => {}
            (Some(p), want @ Value::Object(_)) => {
                let n = p.num_custom_purposes;
                let got = serde_json::json!({
                    "purposesConsent": bits_to_ids(u64::from(p.purposes_consent), 24),
                    "purposesLi": bits_to_ids(u64::from(p.purposes_li_transparency), 24),
                    "numCustomPurposes": n,
                    "customConsent": bits_to_ids(p.custom_purposes_consent, n),
                    "customLi": bits_to_ids(p.custom_purposes_li_transparency, n),
                });
                if &got != want {
                    failures.push(format!("case {i} publisherTc: got {got}, want {want}"));
                }
            }
            (got, want) => failures.push(format!("case {i} publisherTc: got {got:?}, want {want}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Both encodings were exercised in both vendor sections.
    for key in [
        ("vendorConsents", "bitfield"),
        ("vendorConsents", "range"),
        ("vendorLegitimateInterests", "bitfield"),
        ("vendorLegitimateInterests", "range"),
    ] {
        assert!(
            encodings.get(&key).copied().unwrap_or(0) >= 25,
            "too few {key:?}: {encodings:?}"
        );
    }
    println!(
        "cross-checked {} TC strings against @iabtcf/core: all agree ({encodings:?})",
        cases.len()
    );
}

#[test]
fn every_prefix_and_mutation_of_generated_strings_is_handled_without_panic() {
    let doc: Value = serde_json::from_str(FIXTURE).unwrap();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=!";
    for (i, case) in doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .step_by(7)
    {
        let s = case["tc"].as_str().unwrap();
        for cut in 0..s.len() {
            let _ = tcf::decode(&s[..cut]);
        }
        let bytes = s.as_bytes();
        for k in 0..64usize {
            let mut m = bytes.to_vec();
            let pos = (k * 7919 + i * 31) % m.len();
            m[pos] = alphabet[(k + i) % alphabet.len()];
            if let Ok(text) = std::str::from_utf8(&m) {
                let _ = tcf::decode(text);
            }
        }
    }
}
