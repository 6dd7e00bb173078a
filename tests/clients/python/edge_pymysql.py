"""PyMySQL against dbplane's connection edge, with a password of one role.

Run by crates/dbplane/tests/edge_clients.rs with the connection in the environment:
EDGE_HOST, EDGE_PORT, EDGE_USER, EDGE_PASSWORD, EDGE_DATABASE, EDGE_ROLE
(reader | writer | readwriter | admin), EDGE_TLS (1 or 0), EDGE_INFILE (a CSV file of
"name,qty" lines). The branch has `items (id BIGINT AUTO_INCREMENT PRIMARY KEY,
name VARCHAR(100), qty INT, payload LONGBLOB)`. Every check raises on failure; the last
line printed is a JSON summary.
"""

import json
import os
import sys

import pymysql

env = os.environ
role = env["EDGE_ROLE"]
tls = env.get("EDGE_TLS") == "1"


def connect(**extra):
    options = dict(
        host=env["EDGE_HOST"],
        port=int(env["EDGE_PORT"]),
        user=env["EDGE_USER"],
        password=env["EDGE_PASSWORD"],
        database=env["EDGE_DATABASE"],
        autocommit=True,
        local_infile=True,
    )
    if tls:
        options["ssl"] = {"check_hostname": False, "verify_mode": 0}
    else:
        options["ssl_disabled"] = True
    options.update(extra)
    return pymysql.connect(**options)


def expect_error(cursor, sql, code, state=None):
    try:
        cursor.execute(sql)
    except pymysql.MySQLError as error:
        got = error.args[0]
        if got != code:
            raise AssertionError(f"{sql!r}: error {got} ({error}), wanted {code}")
        return str(error)
    raise AssertionError(f"{sql!r} succeeded for a {role}, wanted error {code}")


summary = {"role": role, "tls": tls}
connection = connect()
cursor = connection.cursor()
if tls:
    summary["cipher"] = connection._sock.cipher()[0]

cursor.execute("SELECT DATABASE()")
summary["database"] = cursor.fetchone()[0]
assert summary["database"] == env["EDGE_DATABASE"], summary

can_read = role in ("reader", "readwriter", "admin")
can_write = role in ("writer", "readwriter", "admin")

if can_read:
    cursor.execute("SELECT COUNT(*) FROM items")
    summary["rows_before"] = cursor.fetchone()[0]
else:
    summary["select_error"] = expect_error(cursor, "SELECT COUNT(*) FROM items", 1142)

if not can_write:
    summary["insert_error"] = expect_error(cursor, "INSERT INTO items (name, qty) VALUES ('x', 1)", 1142)
else:
    # Writes, and LAST_INSERT_ID() answered for this session whatever the pool did.
    cursor.execute("INSERT INTO items (name, qty) VALUES (%s, %s)", ("pymysql", 1))
    inserted = cursor.lastrowid
    cursor.execute("SELECT 1")
    cursor.execute("SELECT LAST_INSERT_ID()")
    assert cursor.fetchone()[0] == inserted, "LAST_INSERT_ID() after another statement"
    assert cursor.description[0][0] == "LAST_INSERT_ID()", cursor.description
    summary["last_insert_id"] = inserted

    # A transaction rolled back leaves nothing; a committed one stays.
    cursor.execute("BEGIN")
    cursor.execute("INSERT INTO items (name, qty) VALUES ('rolled back', 2)")
    cursor.execute("ROLLBACK")
    cursor.execute("START TRANSACTION")
    cursor.execute("INSERT INTO items (name, qty) VALUES ('committed', 3)")
    cursor.execute("COMMIT")
    if can_read:
        cursor.execute("SELECT COUNT(*) FROM items WHERE name = 'rolled back'")
        assert cursor.fetchone()[0] == 0, "a rolled back row is not there"
        cursor.execute("SELECT COUNT(*) FROM items WHERE name = 'committed'")
        assert cursor.fetchone()[0] >= 1, "a committed row is there"

    # LOAD DATA LOCAL INFILE.
    cursor.execute(
        "LOAD DATA LOCAL INFILE %s INTO TABLE items FIELDS TERMINATED BY ',' (name, qty)",
        (env["EDGE_INFILE"],),
    )
    summary["loaded"] = cursor.rowcount
    assert summary["loaded"] == 3, summary

    # A 20 MB row, both ways.
    payload = bytes(range(256)) * (20 * 1024 * 1024 // 256)
    cursor.execute("INSERT INTO items (name, qty, payload) VALUES ('big', 20, %s)", (payload,))
    big_id = cursor.lastrowid
    if can_read:
        cursor.execute("SELECT payload FROM items WHERE id = %s", (big_id,))
        assert cursor.fetchone()[0] == payload, "the 20 MB row reads back unchanged"
        summary["big_row_bytes"] = len(payload)

if role == "admin":
    # Temporary tables live across statements of the session.
    cursor.execute("CREATE TEMPORARY TABLE scratch (n INT)")
    cursor.execute("INSERT INTO scratch VALUES (1), (2)")
    cursor.execute("SELECT SUM(n) FROM scratch")
    assert cursor.fetchone()[0] == 3
    # Session variables too.
    cursor.execute("SET @mark = 41")
    cursor.execute("SELECT @mark + 1")
    assert cursor.fetchone()[0] == 42
    summary["temporary_table"] = True
elif role == "readwriter":
    summary["temporary_table_error"] = expect_error(cursor, "CREATE TEMPORARY TABLE scratch (n INT)", 1044)

# Errors carry the server's errno and SQLSTATE, with the database's own name.
message = expect_error(cursor, "SELECT * FROM no_such_table", 1146 if can_read else 1142)
assert "dbp_" not in message, message
summary["missing_table_error"] = message
connection.close()

# Server-side prepared statements are not PyMySQL's; mysql2 and the mariadb client cover
# them. A wrong password is refused with MariaDB's error.
try:
    connect(password="wrong-" + env["EDGE_PASSWORD"])
    raise AssertionError("a wrong password logged in")
except pymysql.err.OperationalError as error:
    assert error.args[0] == 1045, error
    assert env["EDGE_PASSWORD"] not in str(error)
    summary["wrong_password"] = error.args[0]

print(json.dumps(summary))
