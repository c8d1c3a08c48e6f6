//! Decimal digits without `core::fmt`'s integer formatting (kilobytes of device code), for
//! error messages and console lines.

/// `v` in decimal, written into the end of `buf`. Works in the native word size, so a 32-bit
/// MCU uses its divide instruction and no 64-bit division routine is linked.
#[inline(never)]
pub(crate) fn decimal(mut v: usize, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    // 20 digits hold usize::MAX, so the loop ends by `v == 0`; the slot check keeps it free of
    // panics.
    while let Some(d) = buf.get_mut(i.wrapping_sub(1)) {
        i -= 1;
        *d = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    core::str::from_utf8(buf.get(i..).unwrap_or(&[])).unwrap_or("")
}

#[cfg(test)]
mod tests {
    #[test]
    fn digits() {
        let mut b = [0u8; 20];
        assert_eq!(super::decimal(0, &mut b), "0");
        assert_eq!(super::decimal(4096, &mut b), "4096");
        assert_eq!(
            super::decimal(usize::MAX, &mut b),
            alloc::format!("{}", usize::MAX)
        );
    }
}
