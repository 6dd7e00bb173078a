//! Keys and names: primary keys that change (over a shared unique key), unique keys added
//! and dropped, auto-increment counters, keys of 0, column renames and letter-case changes,
//! reserved words and odd names, generated columns, NULL and NOT NULL, SQL modes.

use super::{Case, case};

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "unique_key_added",
            "id INT PRIMARY KEY, u INT NOT NULL, v INT NULL",
            "id, u, v",
            |n| format!("({n}, {}, {n})", n * 3),
            |k| format!("v = {k}"),
            "ADD UNIQUE KEY uu (u)",
        )
        .revert(),
        case(
            "unique_key_added_over_duplicates",
            "id INT PRIMARY KEY, u INT NOT NULL",
            "id, u",
            |n| format!("({n}, {})", n % 50),
            |k| format!("u = {}", k % 50),
            "ADD UNIQUE KEY uu (u)",
        ),
        // No duplicate when the deploy starts; the writers then add some.
        case(
            "unique_key_added_duplicated_during_the_deploy",
            "id INT PRIMARY KEY, u INT NOT NULL",
            "id, u",
            |n| format!("({n}, {})", if n > 1_000 { 7 } else { n * 3 }),
            |k| format!("u = u + 0 * {k}"),
            "ADD UNIQUE KEY uu (u)",
        ),
        case(
            "unique_key_dropped",
            "id INT PRIMARY KEY, u INT NOT NULL, v INT NULL, UNIQUE KEY uu (u)",
            "id, u, v",
            |n| format!("({n}, {}, {n})", n * 3 + 1),
            |k| format!("v = {k}"),
            "DROP INDEX uu",
        )
        .revert(),
        case(
            "primary_key_widened",
            "id INT NOT NULL, i INT NOT NULL, v INT NULL, PRIMARY KEY (id)",
            "id, i, v",
            |n| format!("({n}, {}, {n})", n % 7),
            |k| format!("v = {k}, i = {}", k % 7),
            "DROP PRIMARY KEY, ADD PRIMARY KEY (id, i)",
        )
        .revert(),
        case(
            "primary_key_made_unique_key",
            "id INT NOT NULL PRIMARY KEY, v INT NULL",
            "id, v",
            |n| format!("({n}, {n})"),
            |k| format!("v = {k}"),
            "DROP PRIMARY KEY, ADD UNIQUE KEY uid (id)",
        ),
        case(
            "primary_and_unique_key_swapped",
            "id INT NOT NULL PRIMARY KEY, u INT NOT NULL, v INT NULL, UNIQUE KEY uu (u)",
            "id, u, v",
            |n| format!("({n}, {}, {n})", n * 5),
            |k| format!("v = {k}"),
            "DROP PRIMARY KEY, DROP INDEX uu, ADD PRIMARY KEY (u), ADD UNIQUE KEY uid (id)",
        )
        .revert(),
        case(
            "primary_key_without_a_shared_key",
            "id INT NOT NULL PRIMARY KEY, v INT NOT NULL",
            "id, v",
            |n| format!("({n}, {n})"),
            |k| format!("v = v + 0 * {k}"),
            "DROP PRIMARY KEY, ADD PRIMARY KEY (v)",
        )
        .refused("share no unique key"),
        case(
            "composite_primary_key_reordered",
            "id INT NOT NULL, a INT NOT NULL, b INT NOT NULL, v INT NULL, \
             PRIMARY KEY (a, b), UNIQUE KEY uid (id)",
            "id, a, b, v",
            |n| format!("({n}, {n}, {}, {n})", n % 7),
            |k| format!("v = {k}"),
            "DROP PRIMARY KEY, ADD PRIMARY KEY (b, a)",
        )
        .revert(),
        case(
            "varchar_primary_key_changing_case",
            "code VARCHAR(20) NOT NULL PRIMARY KEY, id INT NOT NULL, v INT NULL, UNIQUE KEY uid (id)",
            "id, code, v",
            |n| format!("({n}, 'k{n}', {n})"),
            |k| format!("code = IF({k} % 2 = 0, UPPER(code), LOWER(code)), v = {k}"),
            "ADD INDEX iv (v)",
        )
        .fixed_ids()
        .revert(),
        case(
            "integer_primary_key_widened",
            "id INT NOT NULL PRIMARY KEY, v INT NULL",
            "id, v",
            |n| format!("({n}, {n})"),
            |k| format!("v = {k}"),
            "MODIFY id BIGINT NOT NULL",
        )
        .revert(),
        case(
            "auto_increment_counter_kept",
            "id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v INT NULL",
            "id, v",
            |n| format!("({n}, {n})"),
            |k| format!("v = {k}"),
            "ADD INDEX iv (v)",
        ),
        case(
            "key_of_zero_kept",
            "id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v INT NULL",
            "id, v",
            // Row 1 has the key 0; writers that replace row 1 send it through the stream.
            |n| format!("({}, {n})", if n == 1 { 0 } else { n }),
            |k| format!("v = {k}"),
            "ADD INDEX iv (v)",
        )
        .sql_mode("NO_AUTO_VALUE_ON_ZERO,STRICT_TRANS_TABLES"),
        // The report: `MODIFY C2` on `c2` renames it; the values must stay.
        case(
            "column_name_case_changed",
            "id INT PRIMARY KEY, c2 INT NULL",
            "id, c2",
            |n| format!("({n}, {})", n * 11),
            |k| format!("c2 = {k}"),
            "MODIFY C2 BIGINT NULL",
        )
        .ddl_contains("CHANGE COLUMN `c2` `C2`")
        .revert(),
        case(
            "column_renamed",
            "id INT PRIMARY KEY, c2 VARCHAR(20) NULL, z INT NULL",
            "id, c2, z",
            |n| format!("({n}, 'v{n}', {n})"),
            |k| format!("c2 = 'u{k}'"),
            "CHANGE COLUMN c2 c3 VARCHAR(20) NULL",
        )
        .ddl_contains("CHANGE COLUMN `c2` `c3`"),
        case(
            "column_renamed_and_retyped_is_a_drop_and_add",
            "id INT PRIMARY KEY, c2 INT NULL",
            "id, c2",
            |n| format!("({n}, {n})"),
            |k| format!("c2 = {k}"),
            "CHANGE COLUMN c2 c3 BIGINT NULL",
        )
        .ddl_contains("DROP COLUMN `c2`"),
        case(
            "reserved_word_names",
            "id INT PRIMARY KEY, `order` INT NULL, `key` VARCHAR(10) NULL, `select` DATE NULL",
            "id, `order`, `key`, `select`",
            |n| format!("({n}, {n}, 'k{n}', '2026-01-{:02}')", n % 28 + 1),
            |k| format!("`order` = {k}, `key` = 'q{}'", k % 1000),
            "ADD INDEX `index` (`order`), MODIFY `key` VARCHAR(20) NULL",
        )
        .revert(),
        case(
            "mixed_case_names",
            "id INT PRIMARY KEY, UserName VARCHAR(30) NOT NULL, createdAt DATETIME NULL",
            "id, UserName, createdAt",
            |n| format!("({n}, 'User{n}', '2026-02-{:02} 01:02:03')", n % 28 + 1),
            |k| format!("UserName = 'Renamed{k}'"),
            "MODIFY UserName VARCHAR(40) NOT NULL, ADD INDEX ByName (UserName)",
        )
        .revert(),
        case(
            "odd_table_and_column_names",
            "id INT PRIMARY KEY, `we``ird` INT NULL, `quo'te` VARCHAR(10) NULL, \
             `semi;colon` INT NULL, `ünïcode` VARCHAR(10) NULL",
            "id, `we``ird`, `quo'te`, `semi;colon`, `ünïcode`",
            |n| format!("({n}, {n}, 'q''{n}', {n}, 'ü{n}')"),
            |k| format!("`we``ird` = {k}, `ünïcode` = 'é{}'", k % 1000),
            "ADD INDEX `we``ird idx` (`we``ird`), MODIFY `quo'te` VARCHAR(20) NULL",
        )
        .table("tbl `q'x ü")
        .revert(),
        case(
            "generated_virtual_column_indexed",
            "id INT PRIMARY KEY, a INT NOT NULL, g INT AS (a * 2) VIRTUAL",
            "id, a",
            |n| format!("({n}, {n})"),
            |k| format!("a = {k}"),
            "ADD INDEX ig (g)",
        )
        .revert(),
        case(
            "generated_stored_column_added",
            "id INT PRIMARY KEY, a INT NOT NULL, b VARCHAR(10) NULL",
            "id, a, b",
            |n| format!("({n}, {n}, 'b{n}')"),
            |k| format!("a = {k}"),
            "ADD COLUMN s VARCHAR(30) AS (CONCAT(b, '-', a)) STORED",
        ),
        case(
            "generated_column_dropped",
            "id INT PRIMARY KEY, a INT NOT NULL, g INT AS (a + 1) STORED",
            "id, a",
            |n| format!("({n}, {n})"),
            |k| format!("a = {k}"),
            "DROP COLUMN g",
        ),
        case(
            "not_null_column_without_default_added",
            "id INT PRIMARY KEY, v INT NULL",
            "id, v",
            |n| format!("({n}, {n})"),
            |k| format!("v = {k}"),
            "ADD COLUMN z INT NOT NULL, ADD COLUMN s VARCHAR(5) NOT NULL",
        ),
        case(
            "null_to_not_null_over_nulls",
            "id INT PRIMARY KEY, v INT NULL",
            "id, v",
            |n| format!("({n}, {})", if n % 6 == 0 { "NULL".to_string() } else { n.to_string() }),
            |k| format!("v = {k}"),
            "MODIFY v INT NOT NULL",
        ),
        case(
            "null_to_not_null_without_nulls",
            "id INT PRIMARY KEY, v INT NULL",
            "id, v",
            |n| format!("({n}, {n})"),
            |k| format!("v = {k}"),
            "MODIFY v INT NOT NULL",
        ),
        case(
            "columns_dropped_added_and_moved",
            "id INT PRIMARY KEY, a INT NULL, b VARCHAR(10) NULL, c DATE NULL",
            "id, a, b, c",
            |n| format!("({n}, {n}, 'b{n}', '2026-03-{:02}')", n % 28 + 1),
            |k| format!("a = {k}, b = 'x{}'", k % 1000),
            "DROP COLUMN a, ADD COLUMN d INT NOT NULL DEFAULT 7 FIRST, MODIFY c DATE NULL AFTER id",
        ),
        case(
            "non_strict_writers_truncate",
            "id INT PRIMARY KEY, s VARCHAR(5) NULL, t TINYINT NULL",
            "id, s, t",
            |n| format!("({n}, 'abcdefgh{n}', {})", n * 100),
            |k| format!("s = 'zzzzzzzz{k}', t = {}", k * 3),
            "ADD INDEX is_ (s)",
        )
        .sql_mode("NO_ENGINE_SUBSTITUTION")
        .revert(),
        case(
            "strict_writers_refused_statements",
            "id INT PRIMARY KEY, s VARCHAR(5) NULL",
            "id, s",
            |n| format!("({n}, '{}')", if n % 3 == 0 && n > 1_000 { "too long for it" } else { "ok" }),
            |k| format!("s = '{}'", if k % 2 == 0 { "fits" } else { "does not fit" }),
            "ADD INDEX is_ (s)",
        )
        .sql_mode("STRICT_ALL_TABLES"),
    ]
}
