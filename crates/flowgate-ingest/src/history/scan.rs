//! A strict, partial reader of one JSON text: the hot path of JSON lines.
//!
//! General JSON parsers spend 4–8 k instructions on a 230-byte Zendesk event line (serde_json
//! into a struct 7.6 k, simd-json 6.0 k, serde_json only validating 3.7 k), more than the
//! whole of a CSV row's reading and mapping (3.4 k). This reader walks the text once, hands
//! out the few values a flattener keeps as slices of the line, and skips the rest while
//! checking it against JSON's grammar.
//!
//! It accepts a strict subset of JSON and leaves everything else to serde_json, which stays
//! the authority: whatever this reader cannot read exactly as serde_json would — not JSON at
//! all, escapes in a kept string or in a key, `\u` escapes of surrogates, floats and
//! negative zero or out-of-range integers in a kept field, nesting deeper than
//! [`MAX_DEPTH`], a byte sequence that is not UTF-8 — makes it stop with [`Defer`], and the
//! line is read again by serde_json, whose verdict and message stand. The invariant
//! (ARCHITECTURE.md): a line this reader accepts is accepted by serde_json with the same
//! values. Property tests hold it against serde_json on generated and mutated lines.

/// The line needs the full parser (see the module's documentation).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Defer;

pub(crate) type Scanned<T> = Result<T, Defer>;

/// Deeper nesting is left to serde_json (whose own limit is 128).
pub(crate) const MAX_DEPTH: u32 = 64;

pub(crate) struct Scan<'a> {
    text: &'a str,
    at: usize,
    depth: u32,
}

impl<'a> Scan<'a> {
    /// Starts reading `bytes`, which must be UTF-8 as a whole (so every slice between two
    /// ASCII quotes is text) and hold no control character. JSON allows tab, CR and LF only
    /// as whitespace between tokens, which JSON lines rarely have; without them whitespace
    /// is a space and a string ends at the first quote or backslash.
    pub(crate) fn new(bytes: &'a [u8]) -> Scanned<Scan<'a>> {
        if bytes.iter().fold(false, |any, &c| any | (c < 0x20)) {
            return Err(Defer);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| Defer)?;
        Ok(Scan {
            text,
            at: 0,
            depth: 0,
        })
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte after spaces, not consumed.
    #[inline]
    fn peek(&mut self) -> Scanned<u8> {
        match self.bytes().get(self.at) {
            Some(&c) if c != b' ' => Ok(c),
            _ => self.peek_past_spaces(),
        }
    }

    #[cold]
    fn peek_past_spaces(&mut self) -> Scanned<u8> {
        let b = self.bytes();
        loop {
            let c = *b.get(self.at).ok_or(Defer)?;
            if c != b' ' {
                return Ok(c);
            }
            self.at += 1;
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Scanned<()> {
        if self.peek()? == c {
            self.at += 1;
            Ok(())
        } else {
            Err(Defer)
        }
    }

    fn enter(&mut self, open: u8) -> Scanned<()> {
        self.eat(open)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Defer);
        }
        Ok(())
    }

    /// Enters an object; read its keys with [`Scan::key`].
    pub(crate) fn object(&mut self) -> Scanned<()> {
        self.enter(b'{')
    }

    /// The object's next key (its `:` consumed), or `None` at its end. `first` is true for
    /// the first call after [`Scan::object`].
    #[inline]
    pub(crate) fn key(&mut self, first: bool) -> Scanned<Option<&'a str>> {
        match self.peek()? {
            b'}' => {
                self.at += 1;
                self.depth -= 1;
                return Ok(None);
            }
            b',' if !first => self.at += 1,
            _ if first => {}
            _ => return Err(Defer),
        }
        let k = self.string()?;
        self.eat(b':')?;
        Ok(Some(k))
    }

    /// Enters an array; step through it with [`Scan::element`].
    pub(crate) fn array(&mut self) -> Scanned<()> {
        self.enter(b'[')
    }

    /// Whether another element follows (its `,` consumed), or false at the array's end.
    #[inline]
    pub(crate) fn element(&mut self, first: bool) -> Scanned<bool> {
        match self.peek()? {
            b']' => {
                self.at += 1;
                self.depth -= 1;
                Ok(false)
            }
            b',' if !first => {
                self.at += 1;
                Ok(true)
            }
            _ if first => Ok(true),
            _ => Err(Defer),
        }
    }

    /// A string without escapes, as its text (the opening quote next).
    #[inline]
    fn string(&mut self) -> Scanned<&'a str> {
        let b = self.bytes();
        if b.get(self.at) == Some(&b'"') {
            self.at += 1;
        } else {
            self.eat(b'"')?;
        }
        let start = self.at;
        let end = start + plain_run(&b[start..]);
        if b.get(end) != Some(&b'"') {
            return Err(Defer);
        }
        self.at = end + 1;
        self.text.get(start..end).ok_or(Defer)
    }

    /// Any string, escapes checked (the opening quote next).
    fn skip_string(&mut self) -> Scanned<()> {
        self.at += 1;
        let b = self.bytes();
        loop {
            self.at += plain_run(&b[self.at..]);
            let c = *b.get(self.at).ok_or(Defer)?;
            self.at += 1;
            match c {
                b'"' => return Ok(()),
                b'\\' => {
                    let e = *b.get(self.at).ok_or(Defer)?;
                    self.at += 1;
                    match e {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            let hex = b.get(self.at..self.at + 4).ok_or(Defer)?;
                            let hex = std::str::from_utf8(hex).map_err(|_| Defer)?;
                            let unit = u16::from_str_radix(hex, 16).map_err(|_| Defer)?;
                            // `from_str_radix` takes a sign; JSON does not. Surrogates are
                            // left to serde_json (a pair is one character; a lone one is not).
                            if hex.starts_with('+') || (0xD800..0xE000).contains(&unit) {
                                return Err(Defer);
                            }
                            self.at += 4;
                        }
                        _ => return Err(Defer),
                    }
                }
                _ => return Err(Defer),
            }
        }
    }

    /// A number as written, checked against JSON's grammar.
    #[inline]
    fn number(&mut self) -> Scanned<&'a str> {
        self.number_or_integer(false)
    }

    /// A number as written; one with a fraction or an exponent only if `integer` is false
    /// (else it is deferred).
    #[inline]
    fn number_or_integer(&mut self, integer: bool) -> Scanned<&'a str> {
        let b = self.bytes();
        let start = self.at;
        let mut i = start + usize::from(b.get(start) == Some(&b'-'));
        let int = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == int || (i - int > 1 && b[int] == b'0') {
            return Err(Defer);
        }
        if matches!(b.get(i), Some(b'.' | b'e' | b'E')) {
            if integer {
                return Err(Defer);
            }
            i = fraction_and_exponent(b, i)?;
        }
        self.at = i;
        self.text.get(start..i).ok_or(Defer)
    }

    fn literal(&mut self, word: &str) -> Scanned<()> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(Defer)
        }
    }

    /// Skips any value, checking it.
    pub(crate) fn skip(&mut self) -> Scanned<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' => {
                self.object()?;
                let mut first = true;
                while self.key(first)?.is_some() {
                    first = false;
                    self.skip()?;
                }
                Ok(())
            }
            b'[' => {
                self.array()?;
                let mut first = true;
                while self.element(first)? {
                    first = false;
                    self.skip()?;
                }
                Ok(())
            }
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            _ => self.number().map(drop),
        }
    }

    /// A scalar as `any_text` reads it: a string's text, an integer's digits, `true` or
    /// `false`; `null`, arrays and objects as none.
    #[inline]
    pub(crate) fn text(&mut self) -> Scanned<Option<&'a str>> {
        match self.peek()? {
            b'"' => self.string().map(Some),
            b'n' => self.literal("null").map(|()| None),
            b't' => self.literal("true").map(|()| Some("true")),
            b'f' => self.literal("false").map(|()| Some("false")),
            b'[' | b'{' => self.skip().map(|()| None),
            _ => {
                // What serde_json reads as u64 or i64 and Display writes back as it was
                // written: an integer (no fraction or exponent), not `-0`, in range.
                let n = self.number_or_integer(true)?;
                if n.len() - usize::from(n.starts_with('-')) > 18 || n == "-0" {
                    return Err(Defer);
                }
                Ok(Some(n))
            }
        }
    }

    /// A string or `null` (a field serde reads as `Option<String>`).
    #[inline]
    pub(crate) fn opt_string(&mut self) -> Scanned<Option<&'a str>> {
        match self.peek()? {
            b'"' => self.string().map(Some),
            b'n' => self.literal("null").map(|()| None),
            _ => Err(Defer),
        }
    }

    /// Only whitespace remains.
    pub(crate) fn end(&mut self) -> Scanned<()> {
        match self.peek() {
            Err(Defer) => Ok(()),
            Ok(_) => Err(Defer),
        }
    }
}

/// The end of a number's fraction and exponent (`b[i]` is `.`, `e` or `E`).
#[cold]
fn fraction_and_exponent(b: &[u8], mut i: usize) -> Scanned<usize> {
    let digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return Err(Defer);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return Err(Defer);
        }
    }
    Ok(i)
}

/// The length of the run of plain string bytes `rest` starts with: up to a quote or a
/// backslash (the line has no control character). Eight bytes at a time: a byte equal to
/// the one sought is a zero byte of the XOR, and `(v - 0x01..) & !v & 0x80..` flags the
/// first zero byte of `v` exactly (later flags may be false; only the first counts).
#[inline(always)]
fn plain_run(rest: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let mut i = 0;
    while let Some(Ok(word)) = rest.get(i..i + 8).map(<[u8; 8]>::try_from) {
        let v = u64::from_le_bytes(word);
        let quote = v ^ (ONES * u64::from(b'"'));
        let backslash = v ^ (ONES * u64::from(b'\\'));
        let found = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash))
            & HIGH;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + rest[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .unwrap_or(rest.len() - i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Skips one whole text, as a record reader would.
    fn check(json: &str) -> Scanned<()> {
        let mut s = Scan::new(json.as_bytes())?;
        s.skip()?;
        s.end()
    }

    #[test]
    fn accepts_json_and_defers_what_is_not() {
        for ok in [
            r#"{}"#,
            r#"[]"#,
            r#" {"a" : [1, -2, 3.5e-7, 0, true, false, null, "x\n\"\u00e9"], "b": {}} "#,
            r#"{"é":"ü"}"#,
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
            assert!(serde_json::from_str::<serde_json::Value>(ok).is_ok());
        }
        for bad in [
            "",
            "{",
            "{,}",
            r#"{"a":1,}"#,
            "[1,]",
            "[,1]",
            r#"{"a" 1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e}"#,
            r#"{"a":-}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12"}"#,
            r#"{"a":"\u+123"}"#,
            "{\"a\":\"\t\"}",
            r#"{"a":1} x"#,
            r#"{"a":1}{}"#,
            r#"{'a':1}"#,
            r#"{"a":NaN}"#,
            r#"{"a":+1}"#,
        ] {
            assert_eq!(check(bad), Err(Defer), "{bad}");
        }
        // Valid JSON this reader leaves to serde_json.
        for deferred in [r#"{"a":"\ud83d\ude00"}"#, r#"{"\u0061":1}"#] {
            assert_eq!(check(deferred), Err(Defer), "{deferred}");
            assert!(serde_json::from_str::<serde_json::Value>(deferred).is_ok());
        }
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(check(&deep), Err(Defer));
        let shallow = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(check(&shallow), Ok(()));
        assert_eq!(Scan::new(b"{\"a\":\"\xff\"}").err(), Some(Defer));
    }

    #[test]
    fn kept_scalars_read_as_any_text_does() {
        let text = |v: &str| {
            let json = format!("{{\"k\":{v}}}");
            let mut s = Scan::new(json.as_bytes())?;
            s.object()?;
            s.key(true)?;
            let t = s.text()?.map(str::to_owned);
            assert_eq!(s.key(false)?, None);
            s.end()?;
            Ok(t)
        };
        assert_eq!(text("1772442097"), Ok(Some("1772442097".into())));
        assert_eq!(text("-3"), Ok(Some("-3".into())));
        assert_eq!(text("0"), Ok(Some("0".into())));
        assert_eq!(text("\"open\""), Ok(Some("open".into())));
        assert_eq!(text("true"), Ok(Some("true".into())));
        assert_eq!(text("null"), Ok(None));
        assert_eq!(text("[1,{\"a\":2}]"), Ok(None));
        for deferred in ["1.0", "1e3", "-0", "1234567890123456789", "\"a\\nb\""] {
            assert_eq!(text(deferred), Err(Defer), "{deferred}");
        }
    }
}
