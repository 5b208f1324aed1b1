//! SQL Server column types and values: what the engine returns and the protocol encodes, and what the
//! protocol decodes (RPC parameters, bulk rows) and the engine stores.

/// A SQL Server column type with its declared size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlType {
    Bit,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    /// `real` (4-byte float).
    Real,
    /// `float` (8-byte float).
    Float,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Money,
    SmallMoney,
    /// `char(n)`: single-byte, fixed width, padded with spaces.
    Char(u16),
    /// `varchar(n)`; `None` is `varchar(max)`.
    VarChar(Option<u16>),
    /// `nchar(n)` in characters.
    NChar(u16),
    /// `nvarchar(n)` in characters; `None` is `nvarchar(max)`.
    NVarChar(Option<u16>),
    /// `varbinary(n)`; `None` is `varbinary(max)`.
    VarBinary(Option<u16>),
    Date,
    /// `time(scale)`.
    Time(u8),
    DateTime,
    SmallDateTime,
    /// `datetime2(scale)`.
    DateTime2(u8),
    /// `datetimeoffset(scale)`.
    DateTimeOffset(u8),
    UniqueIdentifier,
}

/// One value. Temporal values are kept in SQL Server's own terms so nothing is lost on the way
/// through: days since 0001-01-01 and time of day in 100 ns units.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// `value / 10^scale`; also money and smallmoney (scale 4).
    Decimal {
        value: i128,
        scale: u8,
    },
    Text(String),
    Bytes(Vec<u8>),
    /// Days since 0001-01-01.
    Date(i32),
    /// 100 ns units since midnight.
    Time(u64),
    /// Days since 0001-01-01 and 100 ns units since midnight.
    DateTime {
        days: i32,
        time: u64,
    },
    /// Local date-time as above and the offset from UTC in minutes.
    DateTimeOffset {
        days: i32,
        time: u64,
        offset_minutes: i16,
    },
    /// Bytes in SQL Server's wire order (the first three groups little-endian).
    Guid([u8; 16]),
}

/// A result or table column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
}

/// A SQL Server error as the client sees it in an ERROR token.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlError {
    /// SQL Server's error number (102 syntax, 208 invalid object, 1205 deadlock, 2627 duplicate key…).
    pub number: u32,
    pub state: u8,
    /// Severity; 16 for ordinary statement errors.
    pub class: u8,
    pub message: String,
}

impl SqlError {
    pub fn new(number: u32, message: impl Into<String>) -> Self {
        Self {
            number,
            state: 1,
            class: 16,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Msg {}, Level {}: {}", self.number, self.class, self.message)
    }
}

impl std::error::Error for SqlError {}
