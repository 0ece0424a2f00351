//! `same_bytes`: equality of the short strings (ids, permissions) the hot paths compare.

/// `a == b`, kept in line for the short strings ids and permissions mostly are: slice equality
/// calls `memcmp` (about 40 instructions a call for a 5-byte string), a byte loop costs a few
/// instructions a byte; this compares two overlapping words (the first and the last bytes of
/// the string) for up to 32 bytes, whatever the length. Longer strings go to `memcmp`.
///
/// ```
/// use psm_core::bytes::same_bytes;
/// assert!(same_bytes(b"sess-1", b"sess-1"));
/// assert!(!same_bytes(b"sess-1", b"sess-2") && !same_bytes(b"read", b"reads"));
/// ```
#[inline]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=8 => ends::<4>(a, b, n),
        9..=16 => ends::<8>(a, b, n),
        17..=32 => ends::<16>(a, b, n),
        _ => a == b,
    }
}

/// Compares the first and the last `W` bytes of `a` and `b` (both `n` long, `W <= n <= 2W`):
/// together they cover every byte. One load and compare each, for `W` of 4, 8 or 16.
#[inline(always)]
fn ends<const W: usize>(a: &[u8], b: &[u8], n: usize) -> bool {
    let word = |s: &[u8], at: usize| -> Option<[u8; W]> { s.get(at..at + W)?.try_into().ok() };
    let (first, last) = (word(a, 0), word(a, n - W));
    first.is_some() && last.is_some() && first == word(b, 0) && last == word(b, n - W)
}

#[cfg(test)]
mod tests {
    use super::same_bytes;

    #[test]
    fn agrees_with_slice_equality_at_every_length() {
        for len in 0..70usize {
            let a: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert!(same_bytes(&a, &a.clone()), "{len}");
            for i in 0..len {
                let mut b = a.clone();
                b[i] ^= 1;
                assert!(!same_bytes(&a, &b), "{len} {i}");
            }
            let mut longer = a.clone();
            longer.push(0);
            assert!(
                !same_bytes(&a, &longer) && !same_bytes(&longer, &a),
                "{len}"
            );
        }
    }
}
