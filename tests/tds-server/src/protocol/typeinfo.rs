//! TYPE_INFO: how a column or parameter type is written in COLMETADATA and RPC parameters.
//! The server announces every type in its nullable variable-length form (INTN, BITN, …), as SQL
//! Server does for result sets; it reads whatever tiberius sends, fixed-length forms included.

use bytes::BufMut;

use super::wire::{Reader, Result, malformed};
use crate::types::SqlType;

/// SQL_Latin1_General_CP1_CI_AS (LCID 0x0409, sort id 52): code page 1252 for `char`/`varchar`.
pub const COLLATION: [u8; 5] = [0x09, 0x04, 0xd0, 0x00, 0x34];
/// The declared length of a `max` type, whose values are PLP (partially length-prefixed) chunks.
pub const MAX_LEN: u16 = 0xffff;

mod code {
    pub const NULL: u8 = 0x1f;
    pub const INT1: u8 = 0x30;
    pub const BIT: u8 = 0x32;
    pub const INT2: u8 = 0x34;
    pub const INT4: u8 = 0x38;
    pub const DATETIM4: u8 = 0x3a;
    pub const FLT4: u8 = 0x3b;
    pub const MONEY: u8 = 0x3c;
    pub const DATETIME: u8 = 0x3d;
    pub const FLT8: u8 = 0x3e;
    pub const MONEY4: u8 = 0x7a;
    pub const INT8: u8 = 0x7f;
    pub const GUID: u8 = 0x24;
    pub const INTN: u8 = 0x26;
    pub const DATEN: u8 = 0x28;
    pub const TIMEN: u8 = 0x29;
    pub const DATETIME2N: u8 = 0x2a;
    pub const DATETIMEOFFSETN: u8 = 0x2b;
    pub const BITN: u8 = 0x68;
    pub const DECIMALN: u8 = 0x6a;
    pub const NUMERICN: u8 = 0x6c;
    pub const FLTN: u8 = 0x6d;
    pub const MONEYN: u8 = 0x6e;
    pub const DATETIMN: u8 = 0x6f;
    pub const BIGVARBINARY: u8 = 0xa5;
    pub const BIGVARCHAR: u8 = 0xa7;
    pub const BIGBINARY: u8 = 0xad;
    pub const BIGCHAR: u8 = 0xaf;
    pub const NVARCHAR: u8 = 0xe7;
    pub const NCHAR: u8 = 0xef;
}

/// A type as read from the wire. `len` is the declared byte length; `fixed` marks the
/// fixed-length forms, whose values carry no length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    /// A typeless NULL (tiberius sends it for a NULL string, binary, date… parameter).
    Null,
    Int {
        len: u8,
        fixed: bool,
    },
    Bit {
        fixed: bool,
    },
    Float {
        len: u8,
        fixed: bool,
    },
    Money {
        len: u8,
        fixed: bool,
    },
    /// `datetime` (8 bytes) or `smalldatetime` (4).
    DateTime {
        len: u8,
        fixed: bool,
    },
    Guid,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Date,
    Time(u8),
    DateTime2(u8),
    DateTimeOffset(u8),
    /// `char`/`varchar` (`unicode: false`, code page 1252) or `nchar`/`nvarchar`; `max_len` in bytes.
    Text {
        unicode: bool,
        max_len: u16,
    },
    Binary {
        max_len: u16,
    },
}

impl WireType {
    /// Values of this type are PLP chunks rather than a two-byte length.
    pub fn is_plp(self) -> bool {
        matches!(
            self,
            WireType::Text { max_len: MAX_LEN, .. } | WireType::Binary { max_len: MAX_LEN }
        )
    }

    /// The SQL type a parameter of this wire type has when no declaration names it.
    pub fn sql_type(self) -> SqlType {
        let max = |len: u16| (len != MAX_LEN).then_some(len);
        match self {
            WireType::Null | WireType::Int { len: 4, .. } => SqlType::Int,
            WireType::Int { len: 1, .. } => SqlType::TinyInt,
            WireType::Int { len: 2, .. } => SqlType::SmallInt,
            WireType::Int { .. } => SqlType::BigInt,
            WireType::Bit { .. } => SqlType::Bit,
            WireType::Float { len: 4, .. } => SqlType::Real,
            WireType::Float { .. } => SqlType::Float,
            WireType::Money { len: 4, .. } => SqlType::SmallMoney,
            WireType::Money { .. } => SqlType::Money,
            WireType::DateTime { len: 4, .. } => SqlType::SmallDateTime,
            WireType::DateTime { .. } => SqlType::DateTime,
            WireType::Guid => SqlType::UniqueIdentifier,
            WireType::Decimal { precision, scale } => SqlType::Decimal { precision, scale },
            WireType::Date => SqlType::Date,
            WireType::Time(scale) => SqlType::Time(scale),
            WireType::DateTime2(scale) => SqlType::DateTime2(scale),
            WireType::DateTimeOffset(scale) => SqlType::DateTimeOffset(scale),
            WireType::Text {
                unicode: true,
                max_len,
            } => SqlType::NVarChar(max(max_len).map(|l| l / 2)),
            WireType::Text {
                unicode: false,
                max_len,
            } => SqlType::VarChar(max(max_len)),
            WireType::Binary { max_len } => SqlType::VarBinary(max(max_len)),
        }
    }
}

/// Reads a TYPE_INFO.
pub fn decode_type_info(src: &mut Reader) -> Result<WireType> {
    use code::*;
    let ty = src.u8()?;
    Ok(match ty {
        NULL => WireType::Null,
        INT1 => WireType::Int { len: 1, fixed: true },
        INT2 => WireType::Int { len: 2, fixed: true },
        INT4 => WireType::Int { len: 4, fixed: true },
        INT8 => WireType::Int { len: 8, fixed: true },
        BIT => WireType::Bit { fixed: true },
        FLT4 => WireType::Float { len: 4, fixed: true },
        FLT8 => WireType::Float { len: 8, fixed: true },
        MONEY => WireType::Money { len: 8, fixed: true },
        MONEY4 => WireType::Money { len: 4, fixed: true },
        DATETIME => WireType::DateTime { len: 8, fixed: true },
        DATETIM4 => WireType::DateTime { len: 4, fixed: true },
        INTN => WireType::Int {
            len: src.u8()?,
            fixed: false,
        },
        BITN => {
            src.u8()?;
            WireType::Bit { fixed: false }
        }
        FLTN => WireType::Float {
            len: src.u8()?,
            fixed: false,
        },
        MONEYN => WireType::Money {
            len: src.u8()?,
            fixed: false,
        },
        DATETIMN => WireType::DateTime {
            len: src.u8()?,
            fixed: false,
        },
        GUID => {
            src.u8()?;
            WireType::Guid
        }
        DECIMALN | NUMERICN => {
            src.u8()?;
            let (precision, scale) = (src.u8()?, src.u8()?);
            if !(1..=38).contains(&precision) || scale > precision {
                return malformed(format!("decimal({precision},{scale})"));
            }
            WireType::Decimal { precision, scale }
        }
        DATEN => WireType::Date,
        TIMEN | DATETIME2N | DATETIMEOFFSETN => {
            let scale = src.u8()?;
            if scale > 7 {
                return malformed(format!("time scale {scale}"));
            }
            match ty {
                TIMEN => WireType::Time(scale),
                DATETIME2N => WireType::DateTime2(scale),
                _ => WireType::DateTimeOffset(scale),
            }
        }
        BIGVARCHAR | BIGCHAR | NVARCHAR | NCHAR => {
            let max_len = src.u16()?;
            src.bytes(COLLATION.len())?;
            WireType::Text {
                unicode: matches!(ty, NVARCHAR | NCHAR),
                max_len,
            }
        }
        BIGVARBINARY | BIGBINARY => WireType::Binary { max_len: src.u16()? },
        other => return malformed(format!("unsupported type {other:#04x}")),
    })
}

/// Bytes of a `decimal` value of this precision (sign byte included).
pub fn decimal_len(precision: u8) -> u8 {
    match precision {
        0..=9 => 5,
        10..=19 => 9,
        20..=28 => 13,
        _ => 17,
    }
}

/// Writes the TYPE_INFO announcing `ty` in a COLMETADATA token.
pub fn encode_type_info(dst: &mut impl BufMut, ty: &SqlType) {
    use code::*;
    let len_or_max = |n: Option<u16>, unit: u16| n.map_or(MAX_LEN, |n| n.saturating_mul(unit).min(8000));
    match *ty {
        SqlType::Bit => dst.put_slice(&[BITN, 1]),
        SqlType::TinyInt => dst.put_slice(&[INTN, 1]),
        SqlType::SmallInt => dst.put_slice(&[INTN, 2]),
        SqlType::Int => dst.put_slice(&[INTN, 4]),
        SqlType::BigInt => dst.put_slice(&[INTN, 8]),
        SqlType::Real => dst.put_slice(&[FLTN, 4]),
        SqlType::Float => dst.put_slice(&[FLTN, 8]),
        SqlType::Decimal { precision, scale } => {
            dst.put_slice(&[DECIMALN, decimal_len(precision), precision, scale])
        }
        SqlType::Money => dst.put_slice(&[MONEYN, 8]),
        SqlType::SmallMoney => dst.put_slice(&[MONEYN, 4]),
        SqlType::Char(n) => text(dst, BIGCHAR, len_or_max(Some(n), 1)),
        SqlType::VarChar(n) => text(dst, BIGVARCHAR, len_or_max(n, 1)),
        SqlType::NChar(n) => text(dst, NCHAR, len_or_max(Some(n), 2)),
        SqlType::NVarChar(n) => text(dst, NVARCHAR, len_or_max(n, 2)),
        SqlType::VarBinary(n) => {
            dst.put_u8(BIGVARBINARY);
            dst.put_u16_le(len_or_max(n, 1));
        }
        SqlType::Date => dst.put_u8(DATEN),
        SqlType::Time(scale) => dst.put_slice(&[TIMEN, scale]),
        SqlType::DateTime2(scale) => dst.put_slice(&[DATETIME2N, scale]),
        SqlType::DateTimeOffset(scale) => dst.put_slice(&[DATETIMEOFFSETN, scale]),
        SqlType::DateTime => dst.put_slice(&[DATETIMN, 8]),
        SqlType::SmallDateTime => dst.put_slice(&[DATETIMN, 4]),
        SqlType::UniqueIdentifier => dst.put_slice(&[GUID, 16]),
    }
}

fn text(dst: &mut impl BufMut, code: u8, max_len: u16) {
    dst.put_u8(code);
    dst.put_u16_le(max_len);
    dst.put_slice(&COLLATION);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(ty: SqlType) -> SqlType {
        let mut buf = Vec::new();
        encode_type_info(&mut buf, &ty);
        let mut src = Reader::new(&buf);
        let wire = decode_type_info(&mut src).unwrap();
        assert!(src.is_empty(), "{ty:?} left bytes");
        wire.sql_type()
    }

    #[test]
    fn every_type_round_trips_through_type_info() {
        let types = [
            SqlType::Bit,
            SqlType::TinyInt,
            SqlType::SmallInt,
            SqlType::Int,
            SqlType::BigInt,
            SqlType::Real,
            SqlType::Float,
            SqlType::Decimal {
                precision: 38,
                scale: 10,
            },
            SqlType::Money,
            SqlType::SmallMoney,
            SqlType::VarChar(Some(20)),
            SqlType::VarChar(None),
            SqlType::NVarChar(Some(4000)),
            SqlType::NVarChar(None),
            SqlType::VarBinary(Some(16)),
            SqlType::VarBinary(None),
            SqlType::Date,
            SqlType::Time(3),
            SqlType::DateTime,
            SqlType::SmallDateTime,
            SqlType::DateTime2(7),
            SqlType::DateTimeOffset(0),
            SqlType::UniqueIdentifier,
        ];
        for ty in types {
            assert_eq!(round_trip(ty.clone()), ty);
        }
        // Fixed-width strings come back as their variable form, which is all the wire tells.
        assert_eq!(round_trip(SqlType::Char(3)), SqlType::VarChar(Some(3)));
        assert_eq!(round_trip(SqlType::NChar(3)), SqlType::NVarChar(Some(3)));
    }
}
