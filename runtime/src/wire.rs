//! Protobuf's wire format decoded straight into borrowed views: what the
//! generated staging builders read entity messages with.
//!
//! prost decodes a message into owned structs: every string field is a fresh
//! `String`, every nested message a fresh struct, and the builders then copy
//! each value again into their Arrow buffers. On step 1's path that decode was
//! more than half of the generated `append`. A view holds `&str` slices of the
//! payload instead, so a value is copied once, into its builder.
//!
//! Generated code implements [`View`] per message (one `match` arm per field
//! number from the lock); this module reads keys, varints, fixed-width values,
//! strings and nested messages, and skips unknown fields. Semantics follow
//! protobuf's (and prost's, which the generated code is tested against field
//! by field): the last value of a scalar field wins, a message field given
//! twice is merged, repeated scalars are accepted packed and unpacked, a wire
//! type that does not fit a known field is an error, and so are truncated
//! input, invalid UTF-8 in a string, and nesting deeper than 100.

use std::marker::PhantomData;
use std::ops::Deref;

/// Why a message does not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("failed to decode Protobuf message: {0}")]
pub struct WireError(String);

pub type Result<T> = std::result::Result<T, WireError>;

fn error<T>(message: impl Into<String>) -> Result<T> {
    Err(WireError(message.into()))
}

/// The six wire types protobuf defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireType {
    Varint,
    Fixed64,
    LengthDelimited,
    StartGroup,
    EndGroup,
    Fixed32,
}

/// A string field's value: checked UTF-8, borrowed from the message's buffer.
/// It reads like `String` does in prost's structs (`as_str`, `Deref<Target = str>`),
/// so the generated expressions that read columns work on both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WireStr<'a>(&'a str);

impl<'a> WireStr<'a> {
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

impl Deref for WireStr<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

/// A message read from the wire: fields are set one at a time as they come.
pub trait View<'a>: Default {
    /// Takes field `tag`, whose value `r` is positioned at; unknown fields
    /// must be skipped with [`Reader::skip`].
    fn field(&mut self, tag: u32, wire: WireType, r: &mut Reader<'a>) -> Result<()>;
}

/// Decodes a whole message.
#[inline]
pub fn decode<'a, V: View<'a>>(buf: &'a [u8]) -> Result<V> {
    let mut view = V::default();
    Reader { buf, depth: 0 }.merge(&mut view)?;
    Ok(view)
}

/// A varint at the start of `buf`: `Ok(Some((value, length)))`, `Ok(None)` if
/// `buf` ends inside it, `Err` if it is longer than 10 bytes. Also what the
/// source reads its frames' length prefixes with.
pub(crate) fn varint_prefix(buf: &[u8]) -> std::result::Result<Option<(u64, usize)>, ()> {
    let mut value = 0u64;
    for (i, &b) in buf.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 10 { Err(()) } else { Ok(None) }
}

/// How deep messages and groups may nest (prost's limit).
const RECURSION_LIMIT: u32 = 100;

/// A position in a message's bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
    depth: u32,
}

impl<'a> Reader<'a> {
    #[inline]
    fn merge<V: View<'a>>(&mut self, view: &mut V) -> Result<()> {
        while !self.buf.is_empty() {
            let (tag, wire) = self.key()?;
            view.field(tag, wire, self)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn key(&mut self) -> Result<(u32, WireType)> {
        let key = self.varint()?;
        let Ok(key) = u32::try_from(key) else { return error(format!("invalid key value: {key}")) };
        let wire = match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::LengthDelimited,
            3 => WireType::StartGroup,
            4 => WireType::EndGroup,
            5 => WireType::Fixed32,
            other => return error(format!("invalid wire type value: {other}")),
        };
        match key >> 3 {
            0 => error("invalid tag value: 0"),
            tag => Ok((tag, wire)),
        }
    }

    #[inline(always)]
    fn varint(&mut self) -> Result<u64> {
        // Most varints on this path (keys, lengths, small numbers) are one byte.
        if let Some(&byte) = self.buf.first()
            && byte < 0x80
        {
            self.buf = &self.buf[1..];
            return Ok(u64::from(byte));
        }
        self.varint_slow()
    }

    fn varint_slow(&mut self) -> Result<u64> {
        match varint_prefix(self.buf) {
            // The tenth byte may only carry the 64th bit (as prost checks).
            Ok(Some((value, n))) if n < 10 || self.buf[9] <= 1 => {
                self.buf = &self.buf[n..];
                Ok(value)
            }
            _ => error("invalid varint"),
        }
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            return error("buffer underflow");
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    #[inline]
    fn expect(wire: WireType, expected: WireType) -> Result<()> {
        if wire == expected { Ok(()) } else { error(format!("invalid wire type: {wire:?} (expected {expected:?})")) }
    }

    #[inline]
    fn length_delimited(&mut self) -> Result<&'a [u8]> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| WireError("buffer underflow".into()))?;
        self.take(len)
    }

    #[inline]
    fn nested(&self, buf: &'a [u8]) -> Result<Reader<'a>> {
        if self.depth >= RECURSION_LIMIT {
            return error("recursion limit reached");
        }
        Ok(Reader { buf, depth: self.depth + 1 })
    }

    #[inline]
    pub fn int64(&mut self, wire: WireType) -> Result<i64> {
        Self::expect(wire, WireType::Varint)?;
        Ok(self.varint()? as i64)
    }

    #[inline]
    pub fn int32(&mut self, wire: WireType) -> Result<i32> {
        Self::expect(wire, WireType::Varint)?;
        Ok(self.varint()? as i32)
    }

    #[inline]
    pub fn bool(&mut self, wire: WireType) -> Result<bool> {
        Self::expect(wire, WireType::Varint)?;
        Ok(self.varint()? != 0)
    }

    #[inline]
    pub fn double(&mut self, wire: WireType) -> Result<f64> {
        Self::expect(wire, WireType::Fixed64)?;
        let bytes = self.take(8)?;
        Ok(f64::from_le_bytes(bytes.try_into().expect("eight bytes")))
    }

    #[inline]
    pub fn string(&mut self, wire: WireType) -> Result<WireStr<'a>> {
        Self::expect(wire, WireType::LengthDelimited)?;
        let bytes = self.length_delimited()?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(WireStr(s)),
            Err(_) => error("invalid string value: data is not UTF-8 encoded"),
        }
    }

    #[inline]
    pub fn bytes(&mut self, wire: WireType) -> Result<&'a [u8]> {
        Self::expect(wire, WireType::LengthDelimited)?;
        self.length_delimited()
    }

    /// Merges a nested message into `view` (a message field given twice is merged).
    #[inline]
    pub fn message<V: View<'a>>(&mut self, wire: WireType, view: &mut V) -> Result<()> {
        Self::expect(wire, WireType::LengthDelimited)?;
        let bytes = self.length_delimited()?;
        self.nested(bytes)?.merge(view)
    }

    /// One element of a repeated message field.
    #[inline]
    pub fn repeated_message<V: View<'a>>(&mut self, wire: WireType, out: &mut Vec<V>) -> Result<()> {
        let mut view = V::default();
        self.message(wire, &mut view)?;
        out.push(view);
        Ok(())
    }

    #[inline]
    pub fn repeated_string(&mut self, wire: WireType, out: &mut Vec<WireStr<'a>>) -> Result<()> {
        out.push(self.string(wire)?);
        Ok(())
    }

    /// Elements of a repeated scalar field, packed or not; `one` reads one
    /// element of wire type `element`.
    #[inline]
    pub fn repeated<T>(
        &mut self,
        wire: WireType,
        element: WireType,
        out: &mut Vec<T>,
        one: fn(&mut Self, WireType) -> Result<T>,
    ) -> Result<()> {
        if wire != WireType::LengthDelimited {
            out.push(one(self, wire)?);
            return Ok(());
        }
        let bytes = self.length_delimited()?;
        let mut packed = Reader { buf: bytes, depth: self.depth };
        while !packed.buf.is_empty() {
            out.push(one(&mut packed, element)?);
        }
        Ok(())
    }

    /// Skips the value of an unknown field `tag`.
    pub fn skip(&mut self, wire: WireType, tag: u32) -> Result<()> {
        match wire {
            WireType::Varint => self.varint().map(drop),
            WireType::Fixed64 => self.take(8).map(drop),
            WireType::Fixed32 => self.take(4).map(drop),
            WireType::LengthDelimited => self.length_delimited().map(drop),
            WireType::StartGroup => {
                let mut group = self.nested(self.buf)?;
                loop {
                    if group.buf.is_empty() {
                        return error("buffer underflow");
                    }
                    let (inner, inner_wire) = group.key()?;
                    if inner_wire == WireType::EndGroup {
                        if inner != tag {
                            return error("unexpected end group tag");
                        }
                        break;
                    }
                    group.skip(inner_wire, inner)?;
                }
                self.buf = group.buf;
                Ok(())
            }
            WireType::EndGroup => error("unexpected end group tag"),
        }
    }
}

/// `manifold.v1.ARI`: `string value = 1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AriView<'a> {
    pub value: WireStr<'a>,
}

impl<'a> View<'a> for AriView<'a> {
    fn field(&mut self, tag: u32, wire: WireType, r: &mut Reader<'a>) -> Result<()> {
        match tag {
            1 => self.value = r.string(wire)?,
            _ => r.skip(wire, tag)?,
        }
        Ok(())
    }
}

/// `google.protobuf.Timestamp`: `int64 seconds = 1; int32 nanos = 2`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimestampView<'a> {
    pub seconds: i64,
    pub nanos: i32,
    _buf: PhantomData<&'a ()>,
}

impl<'a> View<'a> for TimestampView<'a> {
    fn field(&mut self, tag: u32, wire: WireType, r: &mut Reader<'a>) -> Result<()> {
        match tag {
            1 => self.seconds = r.int64(wire)?,
            2 => self.nanos = r.int32(wire)?,
            _ => r.skip(wire, tag)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    /// A message with one field of each kind the views read.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Sample {
        #[prost(string, optional, tag = "1")]
        text: Option<String>,
        #[prost(int64, optional, tag = "2")]
        long: Option<i64>,
        #[prost(int32, optional, tag = "3")]
        int: Option<i32>,
        #[prost(bool, optional, tag = "4")]
        flag: Option<bool>,
        #[prost(double, optional, tag = "5")]
        real: Option<f64>,
        #[prost(message, optional, tag = "6")]
        at: Option<prost_types::Timestamp>,
        #[prost(int32, repeated, tag = "7")]
        ints: Vec<i32>,
        #[prost(string, repeated, tag = "8")]
        texts: Vec<String>,
    }

    #[derive(Default, Debug)]
    struct SampleView<'a> {
        text: Option<WireStr<'a>>,
        long: Option<i64>,
        int: Option<i32>,
        flag: Option<bool>,
        real: Option<f64>,
        at: Option<TimestampView<'a>>,
        ints: Vec<i32>,
        texts: Vec<WireStr<'a>>,
    }

    impl<'a> View<'a> for SampleView<'a> {
        fn field(&mut self, tag: u32, wire: WireType, r: &mut Reader<'a>) -> Result<()> {
            match tag {
                1 => self.text = Some(r.string(wire)?),
                2 => self.long = Some(r.int64(wire)?),
                3 => self.int = Some(r.int32(wire)?),
                4 => self.flag = Some(r.bool(wire)?),
                5 => self.real = Some(r.double(wire)?),
                6 => r.message(wire, self.at.get_or_insert_with(Default::default))?,
                7 => r.repeated(wire, WireType::Varint, &mut self.ints, Reader::int32)?,
                8 => r.repeated_string(wire, &mut self.texts)?,
                _ => r.skip(wire, tag)?,
            }
            Ok(())
        }
    }

    impl SampleView<'_> {
        fn owned(&self) -> Sample {
            Sample {
                text: self.text.map(|s| s.to_string()),
                long: self.long,
                int: self.int,
                flag: self.flag,
                real: self.real,
                at: self.at.map(|t| prost_types::Timestamp { seconds: t.seconds, nanos: t.nanos }),
                ints: self.ints.clone(),
                texts: self.texts.iter().map(|s| s.to_string()).collect(),
            }
        }
    }

    fn sample() -> Sample {
        Sample {
            text: Some("héllo".into()),
            long: Some(-5),
            int: Some(-7),
            flag: Some(true),
            real: Some(2.5),
            at: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 12 }),
            ints: vec![1, -2, 300],
            texts: vec!["a".into(), String::new()],
        }
    }

    #[test]
    fn a_view_reads_what_prost_wrote() {
        let bytes = sample().encode_to_vec();
        assert_eq!(decode::<SampleView>(&bytes).unwrap().owned(), sample());
        assert_eq!(decode::<SampleView>(&[]).unwrap().owned(), Sample::default());
    }

    #[test]
    fn repeated_scalars_are_read_packed_and_unpacked_and_messages_merge() {
        let mut bytes = Vec::new();
        // Field 7 unpacked (wire type 0), then packed: [4, 5].
        bytes.extend_from_slice(&[7 << 3, 3, 7 << 3 | 2, 2, 4, 5]);
        // Field 6 twice: seconds, then nanos; both stay.
        bytes.extend_from_slice(&[6 << 3 | 2, 2, 1 << 3, 9, 6 << 3 | 2, 2, 2 << 3, 8]);
        // An unknown group (field 9) holding a varint, and an unknown fixed32.
        bytes.extend_from_slice(&[9 << 3 | 3, 1 << 3, 1, 9 << 3 | 4, 10 << 3 | 5, 0, 0, 0, 0]);
        let view = decode::<SampleView>(&bytes).unwrap();
        assert_eq!(view.ints, [3, 4, 5]);
        assert_eq!(view.at.map(|t| (t.seconds, t.nanos)), Some((9, 8)));
        assert_eq!(Sample::decode(bytes.as_slice()).unwrap(), view.owned());
    }

    #[test]
    fn bad_input_is_an_error_where_prost_has_one() {
        let good = sample().encode_to_vec();
        let cases: Vec<Vec<u8>> = vec![
            good[..good.len() - 1].to_vec(),                                          // truncated
            vec![1 << 3 | 2, 2, 0xff, 0xfe],                                          // not UTF-8
            vec![2 << 3 | 2, 0],           // a varint field as length-delimited
            vec![0, 1],                    // tag 0
            vec![9 << 3 | 6],              // wire type 6
            vec![9 << 3 | 4],              // an end group without its start
            vec![9 << 3 | 3, 10 << 3 | 4], // an end group of another field
            vec![2 << 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // an 11th varint bit
        ];
        for bytes in cases {
            assert!(Sample::decode(bytes.as_slice()).is_err(), "prost accepts {bytes:?}");
            assert!(decode::<SampleView>(&bytes).is_err(), "the view accepts {bytes:?}");
        }
    }
}
