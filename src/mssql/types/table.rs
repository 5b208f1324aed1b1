//! The SQL Server types routeflow maps, as one table: a line per type says how its declaration's
//! parameters resolve, its Arrow type, and the codecs that read it ([`read`]), bulk-load it
//! ([`write`]), send a filter literal compared with it ([`param`]) and declare it for a new column
//! ([`ddl`]). Adding a type is one line here, plus codecs when none of the existing ones fits.

use arrow::datatypes::DataType::{self, *};
use arrow::datatypes::TimeUnit;
use tiberius::ColumnData;

use super::ddl::{self, DdlFn};
use super::error::TypeError;
use super::param::{self, ParamFn};
use super::read::ReadFn;
use super::read::codec as read;
use super::write::WriteFn;
use super::write::codec as write;
use super::{SqlColumn, TIMESTAMP_UNIT};

/// One line per type; see [`SqlType`] for what each column of a line is.
macro_rules! sql_types {
    ($( [$($name:literal),+] $rule:expr, $arrow:expr, $null:ident, $read:expr, $write:expr, $param:expr
        $(, $create:pat => $ddl:expr)? ; )*) => {
        /// Every SQL Server type routeflow reads and writes.
        pub(crate) static TYPES: &[SqlType] = &[$(SqlType {
            names: &[$($name),+],
            rule: $rule,
            arrow: $arrow,
            null: ColumnData::$null(None),
            read: $read,
            write: $write,
            param: $param,
            creates: sql_types!(@creates $($create)?),
            ddl: sql_types!(@ddl $($ddl)?),
        }),*];
    };
    (@creates) => { |_| false };
    (@creates $create:pat) => { |data_type| matches!(data_type, $create) };
    (@ddl) => { ddl::never };
    (@ddl $ddl:expr) => { $ddl };
}

#[rustfmt::skip]
sql_types! {
//  name(s)                parameters            Arrow type                                         NULL            read              write                  filter literal    a new column of it for
    ["bit"]                Rule::Fixed,          |_| Boolean,                                       Bit,            read::bit,        write::bit,            None,             Boolean => ddl::name;
    ["tinyint"]            Rule::Fixed,          |_| UInt8,                                         U8,             read::int::<1>,   write::tinyint,        None,             UInt8 => ddl::name;
    ["smallint"]           Rule::Fixed,          |_| Int16,                                         I16,            read::int::<2>,   write::smallint,       None,             Int8 | Int16 => ddl::name;
    ["int"]                Rule::Fixed,          |_| Int32,                                         I32,            read::int::<4>,   write::int,            Some(param::int), Int32 | UInt16 => ddl::name;
    ["bigint"]             Rule::Fixed,          |_| Int64,                                         I64,            read::int::<8>,   write::bigint,         Some(param::int), Int64 | UInt32 => ddl::name;
    ["real"]               Rule::Fixed,          |_| Float32,                                       F32,            read::real,       write::real,           None,             Float16 | Float32 => ddl::name;
    ["float"]              Rule::Fixed,          |_| Float64,                                       F64,            read::float,      write::float,          Some(param::float), Float64 => ddl::name;
    ["decimal", "numeric"] Rule::Decimal,        decimal128,                                        Numeric,        read::decimal,    write::decimal,        None,             Decimal32(..) | Decimal64(..) | Decimal128(..) | UInt64 => ddl::decimal;
    ["money"]              Rule::Money(19, 4),   decimal128,                                        Numeric,        read::money,      write::money,          None;
    ["smallmoney"]         Rule::Money(10, 4),   decimal128,                                        Numeric,        read::money,      write::smallmoney,     None;
    ["char"]               Rule::Length(Unit::Chars), |_| Utf8,                                     String,         read::text,       write::text,           Some(param::text);
    ["varchar"]            Rule::Length(Unit::Chars), |_| Utf8,                                     String,         read::text,       write::text,           Some(param::text);
    ["nchar"]              Rule::Length(Unit::Utf16), |_| Utf8,                                     String,         read::text,       write::text,           Some(param::text);
    ["nvarchar"]           Rule::Length(Unit::Utf16), |_| Utf8,                                     String,         read::text,       write::text,           Some(param::text), Utf8 | LargeUtf8 | Utf8View => ddl::hinted_length;
    ["text"]               Rule::Unbounded,      |_| Utf8,                                          String,         read::text,       write::text,           Some(param::text);
    ["ntext"]              Rule::Unbounded,      |_| Utf8,                                          String,         read::text,       write::text,           Some(param::text);
    ["uniqueidentifier"]   Rule::Fixed,          |_| Utf8,                                          Guid,           read::text,       write::guid,           Some(param::text);
    ["binary"]             Rule::Length(Unit::Bytes), |_| Binary,                                   Binary,         read::binary,     write::binary,         None,             FixedSizeBinary(_) => ddl::fixed_size;
    ["varbinary"]          Rule::Length(Unit::Bytes), |_| Binary,                                   Binary,         read::binary,     write::binary,         None,             Binary | LargeBinary | BinaryView => ddl::max;
    ["date"]               Rule::Fixed,          |_| Date32,                                        Date,           read::date,       write::date,           Some(param::date), Date32 => ddl::name;
    ["datetime"]           Rule::Fixed,          |_| Timestamp(TIMESTAMP_UNIT, None),               DateTime,       read::instant,    write::datetime,       None;
    ["smalldatetime"]      Rule::Fixed,          |_| Timestamp(TIMESTAMP_UNIT, None),               SmallDateTime,  read::instant,    write::smalldatetime,  None;
    ["datetime2"]          Rule::Scale,          |_| Timestamp(TIMESTAMP_UNIT, None),               DateTime2,      read::instant,    write::datetime2,      None,             Timestamp(_, None) => ddl::max_scale;
    ["time"]               Rule::Scale,          |_| Time64(TimeUnit::Nanosecond),                  Time,           read::time,       write::time,           None,             Time32(_) | Time64(_) => ddl::max_scale;
    ["datetimeoffset"]     Rule::Scale,          |_| Timestamp(TIMESTAMP_UNIT, Some("+00:00".into())), DateTimeOffset, read::instant,  write::datetimeoffset, None,             Timestamp(_, Some(_)) => ddl::max_scale;
}

/// A line of the table.
pub(crate) struct SqlType {
    /// How INFORMATION_SCHEMA.COLUMNS.DATA_TYPE spells it (lower case); the first is used in DDL.
    pub names: &'static [&'static str],
    /// How a declaration's length, precision and scale become its [`Params`].
    pub rule: Rule,
    /// Its canonical Arrow type (see the module docs of [`super`]).
    pub arrow: fn(Params) -> DataType,
    /// The NULL tiberius accepts for it in a bulk load (each column type needs its own variant).
    pub null: ColumnData<'static>,
    /// Turns a value from the server into a cell of its Arrow column.
    pub read: ReadFn,
    /// Turns an Arrow column into bulk-load values for a column of this type.
    pub write: WriteFn,
    /// Turns a filter literal into a parameter to compare a column of this type with; `None`: filters
    /// on it stay in DataFusion.
    pub param: Option<ParamFn>,
    /// Whether a new table gets a column of this type for an Arrow type…
    creates: fn(&DataType) -> bool,
    /// …and its declaration there.
    ddl: DdlFn,
}

impl SqlType {
    /// The name DDL uses.
    pub fn name(&self) -> &'static str {
        self.names[0]
    }
}

impl std::fmt::Debug for SqlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The line for a (lower-case) type name.
pub(crate) fn lookup(name: &str) -> Option<&'static SqlType> {
    TYPES.iter().find(|t| t.names.contains(&name))
}

/// The declaration of a new column for `data_type`: the type of the first line created for it.
pub(crate) fn created_for(data_type: &DataType, width_hint: Option<usize>) -> Option<String> {
    let sql = TYPES.iter().find(|t| (t.creates)(data_type))?;
    (sql.ddl)(sql, data_type, width_hint)
}

fn decimal128(params: Params) -> DataType {
    Decimal128(params.precision, params.scale as i8)
}

/// How a declaration's parameters resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// None (`int`, `date`, …).
    Fixed,
    /// `decimal(p,s)`: precision 1..=38 (default 18), scale 0..=p (default 0).
    Decimal,
    /// A fixed precision and scale (`money` is a decimal(19,4) in the range of an i64).
    Money(u8, u8),
    /// `(n)` of this unit, or `(max)`.
    Length(Unit),
    /// Always unbounded (`text`, `ntext`).
    Unbounded,
    /// Fractional-second digits 0..=7 (default 7).
    Scale,
}

impl Rule {
    /// The parameters of `column`, whose type is `name`; declarations SQL Server would refuse are
    /// errors naming the column.
    pub fn params(self, column: &SqlColumn, name: &str) -> Result<Params, TypeError> {
        let mut params = Params::default();
        match self {
            Rule::Fixed | Rule::Unbounded => {}
            Rule::Decimal => {
                let precision = column.precision.unwrap_or(18);
                let scale = column.scale.unwrap_or(0);
                if !(1..=38).contains(&precision) || scale > precision {
                    return Err(TypeError::InvalidDecimal {
                        column: column.label(),
                        data_type: name.to_string(),
                        precision,
                        scale,
                    });
                }
                (params.precision, params.scale) = (precision, scale);
            }
            Rule::Money(precision, scale) => (params.precision, params.scale) = (precision, scale),
            Rule::Length(unit) => {
                params.width = column.positive_length().map(|length| Width { length, unit });
            }
            Rule::Scale => match column.scale.unwrap_or(7) {
                scale @ 0..=7 => params.scale = scale,
                scale => {
                    return Err(TypeError::InvalidScale {
                        column: column.label(),
                        data_type: name.to_string(),
                        scale,
                    });
                }
            },
        }
        Ok(params)
    }
}

/// What a column's length counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Characters (char, varchar).
    Chars,
    /// UTF-16 code units (nchar, nvarchar).
    Utf16,
    /// Bytes (binary, varbinary).
    Bytes,
}

impl Unit {
    /// The longest `(n)` a declaration may give; longer needs `(max)`.
    pub fn longest(self) -> usize {
        match self {
            Unit::Utf16 => 4000,
            Unit::Chars | Unit::Bytes => 8000,
        }
    }
}

/// The bound of a character or binary column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Width {
    pub length: usize,
    pub unit: Unit,
}

/// A column type's parameters, resolved from its declaration by its [`Rule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Params {
    /// Decimal digits in all (decimal, money).
    pub precision: u8,
    /// Decimal digits after the point, or fractional-second digits.
    pub scale: u8,
    /// The longest value; `None` for `(max)`, `text` and the types without a length.
    pub width: Option<Width>,
}

/// A column's type resolved: its line of the table, with its parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ColumnType {
    pub sql: &'static SqlType,
    pub params: Params,
}

impl ColumnType {
    pub fn arrow_type(&self) -> DataType {
        (self.sql.arrow)(self.params)
    }

    /// The width of a bounded character column.
    pub fn text_width(&self) -> Option<Width> {
        self.params.width.filter(|w| w.unit != Unit::Bytes)
    }
}
