//! Whole numbers in request bodies: JSON (and JSON Schema) count `5.0` as the integer 5, so
//! every integer field accepts an integral float too — a client that writes numbers as floats
//! is not refused a request the API's schema calls valid.

use serde::{Deserialize, Deserializer};
use serde_json::Number;

/// The non-negative whole number `n` is, as `u64`: an integer, or a float with no fraction
/// below 2^64.
pub fn whole_u64(n: &Number) -> Option<u64> {
    n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// `deserialize_with` for a `u64` field.
pub fn u64_field<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = Number::deserialize(d)?;
    whole_u64(&n).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "invalid value: {n}, expected a non-negative integer"
        ))
    })
}

/// `deserialize_with` for an optional `u64` field (null is absent).
pub fn opt_u64_field<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => whole_u64(&n).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid value: {n}, expected a non-negative integer"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::whole_u64;
    use serde_json::json;

    #[test]
    fn integral_floats_are_whole_numbers_and_nothing_else_is() {
        for (v, want) in [
            (json!(5), Some(5)),
            (json!(5.0), Some(5)),
            (json!(0.0), Some(0)),
            (json!(u64::MAX), Some(u64::MAX)),
            (json!(5.5), None),
            (json!(-1), None),
            (json!(-1.0), None),
            (json!(1.8446744073709552e19), None),
        ] {
            let n = v.as_number().unwrap();
            assert_eq!(whole_u64(n), want, "{v}");
        }
    }

    #[test]
    fn a_large_integral_float_in_a_body_is_read_exactly() {
        // Between 2^51 and 2^52 floats are 0.5 apart: a parser that is not exact can land on a
        // neighbour with a fraction (serde_json's `float_roundtrip` makes it exact).
        for (text, want) in [
            ("4095942621173458.0", 4_095_942_621_173_458_u64),
            ("4503599627370495.0", 4_503_599_627_370_495),
            ("9007199254740992.0", 9_007_199_254_740_992),
        ] {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(whole_u64(v.as_number().unwrap()), Some(want), "{text}");
        }
    }
}
