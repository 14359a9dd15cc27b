//! The bytes a JSON string cannot hold as is, found eight at a time; shared by
//! the writer (escaping) and the reader (skipping strings).

/// What each byte becomes inside a JSON string: 0 stays as is, `u` is written
/// `\u00XX`, anything else is the letter after a backslash.
pub(crate) const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
        b += 1;
    }
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// One flag (the high bit of its byte) for each byte of `word` (little endian)
/// that a JSON string cannot hold as is: `"`, `\\` or a control character.
///
/// Each test flags exactly the bytes it looks for up to the first one it finds
/// (a flag can only be wrong above a byte that borrowed, which is itself
/// flagged), so the lowest flag is always right; higher ones may not be.
#[inline(always)]
pub(crate) fn special_flags(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

/// One flag (the high bit of its byte) for each byte of `word` that a JSON
/// string cannot hold as is, every one of them exactly (no borrow crosses
/// bytes, unlike [`special_flags`]): for counting them. The second value
/// flags the control characters alone.
#[inline(always)]
pub(crate) fn exact_special_flags(word: u64) -> (u64, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Each byte's low seven bits plus 0x7f reach the high bit unless they
    // are all zero, and never carry into the next byte.
    let zero = |x: u64| !(((x & LOW) + LOW) | x) & HIGH;
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    // Under 0x20: the high bit clear, and the low seven bits plus 0x60 below 0x80.
    let control = !(((word & LOW) + ONES * 0x60) | word) & HIGH;
    (quote | backslash | control, control)
}

/// The eight bytes at `i` as a little-endian word.
#[inline(always)]
pub(crate) fn word_at(bytes: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(bytes[i..i + 8].try_into().expect("eight bytes"))
}

/// One flag (the high bit of its byte) for each byte of `word` that is not an
/// ASCII digit; as with [`special_flags`], the lowest flag is always right.
#[inline(always)]
pub(crate) fn non_digit_flags(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A digit is `0x30 + d`, d < 10: after the xor, a byte under 10; adding 0x76
    // sets the high bit of every byte from 10 up (bytes above 0x89 carry into
    // the next byte, but have their own high bit set already).
    let x = word ^ (ONES * 0x30);
    (x.wrapping_add(ONES * 0x76) | x) & HIGH
}

/// The index of the first byte at or after `from` that a JSON string cannot hold
/// as is (`"`, `\\` or a control character), or `bytes.len()`.
#[inline]
pub fn find_special(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while i + 8 <= bytes.len() {
        let found = special_flags(word_at(bytes, i));
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() {
        if ESCAPE[bytes[i] as usize] != 0 {
            return i;
        }
        i += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_digit_flags_find_the_first_non_digit() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut word = *b"01234567";
                word[at] = b;
                let flags = non_digit_flags(u64::from_le_bytes(word));
                let first = word.iter().position(|c| !c.is_ascii_digit());
                assert_eq!(
                    (flags != 0).then(|| (flags.trailing_zeros() / 8) as usize),
                    first,
                    "{b:#x} at {at}"
                );
            }
        }
    }

    #[test]
    fn exact_special_flags_flag_every_special_byte() {
        for b in 0..=255u8 {
            for c in [b'"', b'\\', 0x00, 0x1f, 0x20, b'a', 0xff] {
                for at in 0..8 {
                    let mut word = [b; 8];
                    word[at] = c;
                    let (flags, control) = exact_special_flags(u64::from_le_bytes(word));
                    for (k, &x) in word.iter().enumerate() {
                        let bit = |f: u64| f >> (8 * k + 7) & 1 == 1;
                        assert_eq!(bit(flags), ESCAPE[usize::from(x)] != 0, "{word:?} at {k}");
                        assert_eq!(bit(control), x < 0x20, "{word:?} at {k}");
                    }
                    assert_eq!(flags & !HIGH_BITS, 0);
                }
            }
        }
    }

    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

    #[test]
    fn find_special_agrees_with_a_byte_loop() {
        let mut text: Vec<u8> = Vec::new();
        for i in 0..2000u32 {
            let b = match i % 97 {
                0 => b'"',
                13 => b'\\',
                41 => 0x1f,
                42 => 0x20, // just above a control character: must not be flagged
                43 => b'"' + 1,
                44 => b'\\' + 1,
                50 => 0x7f,
                60 => 0xc3,
                61 => 0x00,
                62 => 0x21,
                _ => b'a' + (i % 26) as u8,
            };
            text.push(b);
        }
        for from in 0..text.len() {
            let want = (from..text.len())
                .find(|&i| ESCAPE[text[i] as usize] != 0)
                .unwrap_or(text.len());
            assert_eq!(find_special(&text, from), want, "from {from}");
        }
    }
}
