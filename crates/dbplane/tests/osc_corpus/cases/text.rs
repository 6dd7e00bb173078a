//! Text and bytes: character sets and collations (and conversions between them), padding,
//! binary strings, JSON, spatial values, and lossy conversions that must stop the deploy.

use super::{Case, case};

/// Words with letters outside ASCII that latin1 can hold.
const LATIN1: [&str; 5] = ["árvíztűrő", "Müller", "straße", "Ærøskøbing", "façade"];

pub fn cases() -> Vec<Case> {
    vec![
        // The report: latin1 bytes applied as if they were the connection's charset.
        case(
            "latin1_column_add_index",
            "id INT PRIMARY KEY, name VARCHAR(40) CHARACTER SET latin1 NOT NULL",
            "id, name",
            |n| {
                format!(
                    "({n}, '{}{n}')",
                    ["áéíóú", "Müller", "straße", "façade", "plain"][n as usize % 5]
                )
            },
            |k| format!("name = 'ñandú {k}'"),
            "ADD INDEX iname (name)",
        )
        .revert(),
        case(
            "latin1_table_converted_to_utf8mb4",
            "id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, note TEXT NULL",
            "id, name, note",
            |n| {
                format!(
                    "({n}, '{}', 'Ærø {n}')",
                    ["Müller", "façade", "ÿ£§"][n as usize % 3]
                )
            },
            |k| format!("note = 'naïve {k}'"),
            "CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        )
        .options("DEFAULT CHARSET=latin1"),
        case(
            "utf8mb4_to_latin1_that_fits",
            "id INT PRIMARY KEY, name VARCHAR(40) NOT NULL",
            "id, name",
            |n| format!("({n}, '{}')", ["Müller", "straße", "plain"][n as usize % 3]),
            |k| format!("name = 'café {k}'"),
            "MODIFY name VARCHAR(40) CHARACTER SET latin1 NOT NULL",
        ),
        case(
            "utf8mb4_emoji_to_latin1_loses",
            "id INT PRIMARY KEY, name VARCHAR(40) NOT NULL",
            "id, name",
            |n| {
                format!(
                    "({n}, '{}')",
                    ["plain", "smile 😀", "日本語"][n as usize % 3]
                )
            },
            |k| format!("name = 'x{k}'"),
            "MODIFY name VARCHAR(40) CHARACTER SET latin1 NOT NULL",
        ),
        case(
            "utf8mb4_four_byte_characters",
            "id INT PRIMARY KEY, name VARCHAR(40) NOT NULL",
            "id, name",
            |n| {
                format!(
                    "({n}, '{}{n}')",
                    ["😀", "𝄞 clef", "日本語", "ℝ"][n as usize % 4]
                )
            },
            |k| format!("name = '🦀 {k}'"),
            "ADD COLUMN tag VARCHAR(10) NULL, ADD INDEX iname (name)",
        )
        .revert(),
        case(
            "collation_made_binary",
            "id INT PRIMARY KEY, name VARCHAR(40) COLLATE utf8mb4_unicode_ci NOT NULL",
            "id, name",
            |n| format!("({n}, '{}')", ["Abc", "abc", "ÄBC"][n as usize % 3]),
            |k| format!("name = 'Zz{k}'"),
            "MODIFY name VARCHAR(40) COLLATE utf8mb4_bin NOT NULL",
        )
        .revert(),
        case(
            "ascii_to_utf8mb4",
            "id INT PRIMARY KEY, code CHAR(8) CHARACTER SET ascii NOT NULL",
            "id, code",
            |n| format!("({n}, 'c{n}')"),
            |k| format!("code = 'k{k}'"),
            "MODIFY code VARCHAR(16) CHARACTER SET utf8mb4 NOT NULL",
        ),
        case(
            "utf8mb3_to_utf8mb4",
            "id INT PRIMARY KEY, name VARCHAR(30) CHARACTER SET utf8mb3 NOT NULL",
            "id, name",
            |n| format!("({n}, '{}{n}')", LATIN1[n as usize % 5]),
            |k| format!("name = 'ü{k}'"),
            "MODIFY name VARCHAR(30) CHARACTER SET utf8mb4 NOT NULL",
        ),
        case(
            "gbk_is_refused_at_check_time",
            "id INT PRIMARY KEY, name VARCHAR(20) NOT NULL",
            "id, name",
            |n| format!("({n}, 'n{n}')"),
            |k| format!("name = 'm{k}'"),
            "MODIFY name VARCHAR(20) CHARACTER SET gbk NOT NULL",
        )
        .refused("gbk"),
        case(
            "char_padding_to_varchar",
            "id INT PRIMARY KEY, c CHAR(8) NOT NULL",
            "id, c",
            |n| format!("({n}, '{}')", ["ab", "ab  ", "", " lead"][n as usize % 4]),
            |k| format!("c = 'x{} '", k % 100),
            "MODIFY c VARCHAR(8) NOT NULL",
        ),
        case(
            "binary_padding_to_varbinary",
            "id INT PRIMARY KEY, b BINARY(4) NOT NULL",
            "id, b",
            |n| {
                format!(
                    "({n}, {})",
                    ["x'61'", "x'6100ff00'", "x'00000000'", "''"][n as usize % 4]
                )
            },
            |k| format!("b = x'{:08x}'", k * 2_654_435_761 % 4_294_967_296),
            "MODIFY b VARBINARY(8) NOT NULL",
        ),
        case(
            "varbinary_every_byte",
            "id INT PRIMARY KEY, b VARBINARY(64) NULL, bl BLOB NULL",
            "id, b, bl",
            |n| {
                let bytes: String = (0..32)
                    .map(|i| format!("{:02x}", (n * 31 + i * 8) % 256))
                    .collect();
                format!("({n}, x'{bytes}', x'00ff{bytes}5c27')")
            },
            |k| format!("b = x'5c00{:02x}27', bl = NULL", k % 256),
            "ADD INDEX ib (b)",
        )
        .revert(),
        case(
            "text_to_mediumtext",
            "id INT PRIMARY KEY, t TEXT NOT NULL",
            "id, t",
            |n| format!("({n}, REPEAT('ab\\\\c''d\\n', {}))", n % 50 + 1),
            |k| format!("t = CONCAT('tab\\t', {k})"),
            "MODIFY t MEDIUMTEXT NOT NULL",
        ),
        case(
            "text_narrowed_too_long",
            "id INT PRIMARY KEY, t TEXT NOT NULL",
            "id, t",
            |n| {
                format!(
                    "({n}, '{}')",
                    if n % 4 == 0 {
                        "much longer than ten"
                    } else {
                        "short"
                    }
                )
            },
            |k| format!("t = 's{}'", k % 100),
            "MODIFY t VARCHAR(10) NOT NULL",
        ),
        case(
            "large_values",
            "id INT PRIMARY KEY, t MEDIUMTEXT NOT NULL, b MEDIUMBLOB NULL",
            "id, t, b",
            |n| {
                format!(
                    "({n}, REPEAT('x{n}', {}), REPEAT(x'00ff', {}))",
                    2000 + n * 10,
                    n * 50
                )
            },
            |k| format!("t = REPEAT('y', {})", 30_000 + k % 1000),
            "ADD COLUMN extra INT NULL",
        ),
        case(
            "json_values",
            "id INT PRIMARY KEY, j JSON NULL, v INT NULL",
            "id, j, v",
            |n| format!("({n}, '{{\"a\": [{n}, 2, {{\"b\": \"ü\\\\\\\\\"}}], \"c\": null}}', {n})"),
            |k| format!("j = JSON_OBJECT('k', {k}, 'e', '😀')"),
            "ADD INDEX iv (v)",
        )
        .revert(),
        case(
            "json_to_longtext",
            "id INT PRIMARY KEY, j JSON NOT NULL",
            "id, j",
            |n| format!("({n}, '[{n}, \"x\"]')"),
            |k| format!("j = JSON_ARRAY({k})"),
            "MODIFY j LONGTEXT NOT NULL",
        ),
        case(
            "spatial_values",
            "id INT PRIMARY KEY, p POINT NOT NULL, g GEOMETRY NULL",
            "id, p, g",
            |n| {
                format!(
                    "({n}, ST_GeomFromText('POINT({n} -{n}.5)'), {})",
                    if n % 2 == 0 {
                        format!("ST_GeomFromText('LINESTRING(0 0, {n} 1, 2 {n})')")
                    } else {
                        "NULL".into()
                    }
                )
            },
            |k| format!("p = ST_GeomFromText('POINT(-{k} {k}.25)')"),
            "ADD SPATIAL INDEX sp (p)",
        )
        .revert(),
        case(
            "uuid_and_inet6",
            "id INT PRIMARY KEY, u UUID NOT NULL, a INET6 NULL",
            "id, u, a",
            |n| {
                format!(
                    "({n}, '{:08x}-0000-4000-8000-{:012x}', '2001:db8::{n:x}')",
                    n * 7,
                    n
                )
            },
            |k| {
                format!(
                    "u = '{:08x}-1111-4000-8000-000000000000', a = '::ffff:10.0.0.{}'",
                    k,
                    k % 256
                )
            },
            "ADD INDEX iu (u)",
        ),
    ]
}
