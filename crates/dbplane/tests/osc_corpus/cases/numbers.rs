//! Numbers, bits, enums and sets: extremes, signedness, and the conversions between them.

use super::{Case, case};

pub fn cases() -> Vec<Case> {
    vec![
        // The issue's silent corruption: rows written during the deploy arrived as '1'.
        case(
            "enum_to_varchar",
            "id INT PRIMARY KEY, e ENUM('red','green','blue','orange') NOT NULL",
            "id, e",
            |n| format!("({n}, '{}')", ["red", "green", "blue", "orange"][n as usize % 4]),
            |k| format!("e = '{}'", ["orange", "blue", "green", "red"][k as usize % 4]),
            "CHANGE e e VARCHAR(32) NOT NULL DEFAULT ''",
        )
        .revert(),
        case(
            "enum_value_appended",
            "id INT PRIMARY KEY, e ENUM('a','b','c') NOT NULL DEFAULT 'a'",
            "id, e",
            |n| format!("({n}, '{}')", ["a", "b", "c"][n as usize % 3]),
            |k| format!("e = '{}'", ["c", "b"][k as usize % 2]),
            "MODIFY e ENUM('a','b','c','d') NOT NULL DEFAULT 'a', ADD INDEX ie (e)",
        )
        .revert(),
        case(
            "enum_to_int",
            "id INT PRIMARY KEY, e ENUM('x','y','z') NULL",
            "id, e",
            |n| format!("({n}, {})", ["'x'", "'y'", "'z'", "NULL"][n as usize % 4]),
            |k| format!("e = '{}'", ["z", "x"][k as usize % 2]),
            "MODIFY e INT NULL",
        ),
        case(
            "enum_reordered",
            "id INT PRIMARY KEY, e ENUM('red','green','blue') NOT NULL",
            "id, e",
            |n| format!("({n}, '{}')", ["red", "green", "blue"][n as usize % 3]),
            |k| format!("e = '{}'", ["blue", "red"][k as usize % 2]),
            "MODIFY e ENUM('blue','green','red') NOT NULL",
        ),
        case(
            "enum_invalid_value_index_zero",
            "id INT PRIMARY KEY, e ENUM('on','off') NOT NULL",
            "id, e",
            |n| format!("({n}, '{}')", ["on", "off", "broken"][n as usize % 3]),
            |k| format!("e = '{}'", ["off", "nope"][k as usize % 2]),
            "ADD INDEX ie (e)",
        )
        .sql_mode("NO_ENGINE_SUBSTITUTION"),
        case(
            "enum_value_removed_in_use",
            "id INT PRIMARY KEY, e ENUM('keep','drop') NOT NULL",
            "id, e",
            |n| format!("({n}, '{}')", ["keep", "drop"][n as usize % 2]),
            |k| format!("e = '{}'", ["drop", "keep"][k as usize % 2]),
            "MODIFY e ENUM('keep') NOT NULL",
        ),
        case(
            "set_to_varchar",
            "id INT PRIMARY KEY, s SET('a','b','c','d') NOT NULL",
            "id, s",
            |n| format!("({n}, '{}')", ["", "a", "b,d", "a,b,c,d"][n as usize % 4]),
            |k| format!("s = '{}'", ["c", "a,c", ""][k as usize % 3]),
            "MODIFY s VARCHAR(20) NOT NULL",
        )
        .revert(),
        case(
            "set_member_added",
            "id INT PRIMARY KEY, s SET('r','w','x') NULL",
            "id, s",
            |n| format!("({n}, {})", ["'r'", "'r,w'", "'x'", "NULL", "''"][n as usize % 5]),
            |k| format!("s = '{}'", ["w,x", "r"][k as usize % 2]),
            "MODIFY s SET('r','w','x','s') NULL, ADD INDEX is_ (s)",
        ),
        case(
            "bit_values",
            "id INT PRIMARY KEY, b BIT(10) NOT NULL, b1 BIT(1) NULL",
            "id, b, b1",
            |n| format!("({n}, {}, {})", n * 37 % 1024, ["b'0'", "b'1'", "NULL"][n as usize % 3]),
            |k| format!("b = b'1010101010' ^ {}, b1 = b'1'", k % 1024),
            "ADD INDEX ib (b)",
        )
        .revert(),
        case(
            "bit_to_int",
            "id INT PRIMARY KEY, b BIT(12) NOT NULL",
            "id, b",
            |n| format!("({n}, {})", n * 97 % 4096),
            |k| format!("b = {}", k * 3 % 4096),
            "MODIFY b INT UNSIGNED NOT NULL",
        ),
        case(
            "decimal_widened",
            "id INT PRIMARY KEY, d DECIMAL(10,2) NOT NULL",
            "id, d",
            |n| match n % 4 {
                0 => format!("({n}, -12345678.91)"),
                1 => format!("({n}, 0.05)"),
                2 => format!("({n}, -0.50)"),
                _ => format!("({n}, {}.{:02})", n % 100_000 * 1000, n % 100),
            },
            |k| format!("d = -{}.{:02}", k % 99_999_999, k % 100),
            "MODIFY d DECIMAL(14,4) NOT NULL",
        )
        .revert(),
        case(
            "decimal_wide_precision",
            "id INT PRIMARY KEY, d DECIMAL(65,30) NULL, e DECIMAL(20,0) UNSIGNED NULL",
            "id, d, e",
            |n| {
                format!(
                    "({n}, -{n}2345678901234567890123456789.000000000100000000020000000003, {})",
                    99_999_999_999_999_999u64 - n
                )
            },
            |k| format!("d = 0.{:030}", k),
            "ADD COLUMN extra INT NULL",
        ),
        case(
            "decimal_to_double",
            "id INT PRIMARY KEY, d DECIMAL(12,3) NOT NULL",
            "id, d",
            |n| format!("({n}, {}.{:03})", n * 7 % 100_000, n % 1000),
            |k| format!("d = -{}.125", k % 100_000),
            "MODIFY d DOUBLE NOT NULL",
        ),
        case(
            "double_to_decimal_rounds",
            "id INT PRIMARY KEY, d DOUBLE NOT NULL",
            "id, d",
            |n| format!("({n}, {n}.123456789)"),
            |k| format!("d = 1.0 / {}", k % 97 + 1),
            "MODIFY d DECIMAL(20,6) NOT NULL",
        ),
        case(
            "float_exact_values",
            "id INT PRIMARY KEY, f FLOAT NOT NULL, fu FLOAT UNSIGNED NULL",
            "id, f, fu",
            |n| match n % 4 {
                0 => format!("({n}, 0.1, 3.4028234e38)"),
                1 => format!("({n}, -1.17549435e-38, 1.4e-45)"),
                2 => format!("({n}, 16777217, NULL)"),
                _ => format!("({n}, {n}.3333, 0)"),
            },
            |k| format!("f = {k}.7, fu = 0.000001"),
            "ADD INDEX if_ (f)",
        )
        .revert(),
        case(
            "double_extremes",
            "id INT PRIMARY KEY, d DOUBLE NULL",
            "id, d",
            |n| match n % 4 {
                0 => format!("({n}, 1.7976931348623157e308)"),
                1 => format!("({n}, 5e-324)"),
                2 => format!("({n}, -0.0)"),
                _ => format!("({n}, {n}.000000000000001)"),
            },
            |k| format!("d = -2.2250738585072014e-308 * {}", k % 5),
            "ADD INDEX id_ (d)",
        ),
        // Signedness bits, interleaved with types that have none.
        case(
            "integer_extremes_and_signedness",
            "id INT PRIMARY KEY, u64 BIGINT UNSIGNED NOT NULL, s8 TINYINT NOT NULL, \
             u8 TINYINT UNSIGNED NOT NULL, d DECIMAL(5,1) UNSIGNED NULL, u24 MEDIUMINT UNSIGNED NOT NULL, \
             f FLOAT UNSIGNED NULL, s64 BIGINT NOT NULL, u16 SMALLINT UNSIGNED NOT NULL, y YEAR NULL, \
             u32 INT UNSIGNED NOT NULL",
            "id, u64, s8, u8, d, u24, f, s64, u16, y, u32",
            |n| {
                if n % 2 == 0 {
                    format!(
                        "({n}, 18446744073709551615, -128, 255, 9999.9, 16777215, 1.5, \
                         -9223372036854775808, 65535, 2155, 4294967295)"
                    )
                } else {
                    format!("({n}, {n}, 127, 0, 0.1, 8388608, 0, 9223372036854775807, 32768, 1901, 2147483648)")
                }
            },
            |k| format!("u64 = 18446744073709551615 - {k}, s8 = -{} , u32 = 4294967295 - {k}", k % 128),
            "ADD INDEX iu (u64)",
        )
        .revert(),
        case(
            "int_widened",
            "id INT PRIMARY KEY, v INT NOT NULL, m MEDIUMINT NULL",
            "id, v, m",
            |n| format!("({n}, {}, {})", -2147483648i64 + n as i64, -8388608i64 + n as i64),
            |k| format!("v = 2147483647 - {}, m = -8388608 + {}", k % 1000, k % 1000),
            "MODIFY v BIGINT NOT NULL, MODIFY m INT NULL",
        )
        .revert(),
        case(
            "int_to_varchar",
            "id INT PRIMARY KEY, v BIGINT NOT NULL",
            "id, v",
            |n| format!("({n}, {})", -9_000_000_000i64 * n as i64),
            |k| format!("v = {}", k * 1_000_003),
            "MODIFY v VARCHAR(30) NOT NULL",
        ),
        case(
            "numeric_text_to_int",
            "id INT PRIMARY KEY, v VARCHAR(20) NOT NULL",
            "id, v",
            |n| format!("({n}, '{}')", n as i64 * -37),
            |k| format!("v = '{}'", k * 11),
            "MODIFY v INT NOT NULL",
        ),
        case(
            "int_narrowed_out_of_range",
            "id INT PRIMARY KEY, v BIGINT NOT NULL",
            "id, v",
            |n| format!("({n}, {})", if n % 5 == 0 { 3_000_000_000u64 + n } else { n }),
            |k| format!("v = {}", k % 1000),
            "MODIFY v INT NOT NULL",
        ),
    ]
}
