//! Dates and times: `TIMESTAMP` (time zones, fractions, zero values, `ON UPDATE`),
//! `DATETIME`, `DATE`, `TIME`, `YEAR`, and the conversions between them.

use super::{Case, case, clock, date};

pub fn cases() -> Vec<Case> {
    vec![
        // The first report: any TIMESTAMP written while the deploy waits.
        case(
            "timestamp_default_add_index",
            "id INT AUTO_INCREMENT PRIMARY KEY, \
             created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, v INT",
            "id, v",
            |n| format!("({n}, {n})"),
            |k| format!("v = {k}"),
            "ADD INDEX iv (v)",
        )
        .revert(),
        case(
            "timestamp6_on_update_current",
            "id BIGINT PRIMARY KEY, \
             ts TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), \
             note VARCHAR(20)",
            "id, ts, note",
            |n| {
                format!(
                    "({n}, '{} {}.{:06}', 'n{n}')",
                    date(n),
                    clock(n),
                    n * 7919 % 1_000_000
                )
            },
            |k| format!("note = 'u{k}'"),
            "ADD COLUMN extra INT NULL, ADD INDEX inote (note)",
        )
        .revert(),
        case(
            "timestamp_zero_values",
            "id INT PRIMARY KEY, ts TIMESTAMP NULL DEFAULT NULL, \
             ts2 TIMESTAMP NOT NULL DEFAULT '0000-00-00 00:00:00'",
            "id, ts, ts2",
            |n| {
                if n % 3 == 0 {
                    format!("({n}, '0000-00-00 00:00:00', '0000-00-00 00:00:00')")
                } else {
                    format!(
                        "({n}, '{} {}', '{} 00:00:01')",
                        date(n),
                        clock(n),
                        date(n + 1)
                    )
                }
            },
            |k| format!("ts = IF({k} % 2 = 0, '0000-00-00 00:00:00', '2026-05-05 05:05:05')"),
            "ADD INDEX its (ts)",
        )
        .sql_mode("NO_ENGINE_SUBSTITUTION"),
        case(
            "timestamp_written_in_another_time_zone",
            "id INT PRIMARY KEY, t TIMESTAMP(3) NULL, v INT",
            "id, t, v",
            |n| format!("({n}, '{} {}.{:03}', {n})", date(n), clock(n), n % 1000),
            |k| format!("t = '2026-11-01 01:{:02}:00', v = {k}", k % 60),
            "ADD COLUMN w INT NOT NULL DEFAULT 3",
        )
        .time_zone("-11:00")
        .revert(),
        case(
            "timestamp_to_datetime",
            "id INT PRIMARY KEY, t TIMESTAMP NULL",
            "id, t",
            |n| format!("({n}, '{} {}')", date(n), clock(n)),
            |k| format!("t = '2026-03-29 02:{:02}:00'", k % 60),
            "MODIFY t DATETIME NULL",
        )
        .time_zone("+05:30"),
        case(
            "datetime_to_timestamp",
            "id INT PRIMARY KEY, d DATETIME(3) NOT NULL",
            "id, d",
            |n| format!("({n}, '{} {}.{:03}')", date(n), clock(n), n * 3 % 1000),
            |k| format!("d = '2030-{:02}-15 12:00:00.5'", k % 12 + 1),
            "MODIFY d TIMESTAMP(3) NOT NULL DEFAULT '2000-01-01 00:00:00'",
        ),
        case(
            "datetime_zero_to_timestamp",
            "id INT PRIMARY KEY, d DATETIME NOT NULL",
            "id, d",
            |n| {
                if n % 4 == 0 {
                    format!("({n}, '0000-00-00 00:00:00')")
                } else {
                    format!("({n}, '{} {}')", date(n), clock(n))
                }
            },
            |k| format!("d = IF({k} % 3 = 0, '0000-00-00 00:00:00', '2031-01-01 00:00:00')"),
            "MODIFY d TIMESTAMP NOT NULL DEFAULT '0000-00-00 00:00:00'",
        )
        .sql_mode("NO_ENGINE_SUBSTITUTION"),
        case(
            "datetime_out_of_timestamp_range",
            "id INT PRIMARY KEY, d DATETIME NOT NULL",
            "id, d",
            |n| format!("({n}, '{}-06-01 00:00:00')", 1950 + n % 100),
            |k| format!("d = '{}-01-01 00:00:00'", 1950 + k % 100),
            "MODIFY d TIMESTAMP NOT NULL DEFAULT '2000-01-01 00:00:00'",
        ),
        case(
            "datetime_precision_narrowed",
            "id INT PRIMARY KEY, d DATETIME(6) NOT NULL",
            "id, d",
            |n| {
                format!(
                    "({n}, '{} {}.{:06}')",
                    date(n),
                    clock(n),
                    n * 104_729 % 1_000_000
                )
            },
            |k| format!("d = '2026-07-07 07:07:07.{:06}'", k * 31 % 1_000_000),
            "MODIFY d DATETIME(2) NOT NULL",
        ),
        case(
            "date_to_datetime",
            "id INT PRIMARY KEY, d DATE NULL",
            "id, d",
            |n| match n % 5 {
                0 => format!("({n}, '0000-00-00')"),
                1 => format!("({n}, '2024-02-29')"),
                _ => format!("({n}, '{}')", date(n)),
            },
            |k| format!("d = '2025-{:02}-01'", k % 12 + 1),
            "MODIFY d DATETIME NULL",
        )
        .sql_mode("NO_ENGINE_SUBSTITUTION"),
        case(
            "time_negative_and_large",
            "id INT PRIMARY KEY, t TIME(3) NOT NULL",
            "id, t",
            |n| match n % 4 {
                0 => format!("({n}, '-838:59:58.999')"),
                1 => format!("({n}, '-00:00:00.5')"),
                2 => format!("({n}, '{}:{:02}:01.25')", n * 3 % 838, n % 60),
                _ => format!("({n}, '{}')", clock(n)),
            },
            |k| format!("t = '-{}:00:00.001'", k % 800),
            "ADD INDEX it (t)",
        )
        .revert(),
        case(
            "time_to_varchar",
            "id INT PRIMARY KEY, t TIME NOT NULL",
            "id, t",
            |n| format!("({n}, '-{}:{:02}:00')", n % 100, n % 60),
            |k| format!("t = '{}:30:30'", k % 838),
            "MODIFY t VARCHAR(20) NOT NULL",
        ),
        case(
            "year_values",
            "id INT PRIMARY KEY, y YEAR NULL",
            "id, y",
            |n| match n % 4 {
                0 => format!("({n}, 0)"),
                1 => format!("({n}, 1901)"),
                2 => format!("({n}, 2155)"),
                _ => format!("({n}, {})", 1950 + n % 100),
            },
            |k| format!("y = IF({k} % 2 = 0, 0, 2000 + {k} % 100)"),
            "ADD INDEX iy (y)",
        )
        .revert(),
        case(
            "year_to_smallint",
            "id INT PRIMARY KEY, y YEAR NOT NULL",
            "id, y",
            |n| format!("({n}, {})", if n % 3 == 0 { 0 } else { 1990 + n % 40 }),
            |k| format!("y = {}", 2001 + k % 50),
            "MODIFY y SMALLINT NOT NULL",
        ),
    ]
}
