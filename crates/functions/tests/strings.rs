//! String functions against MySQL's documented results.
mod support;
use support::*;

#[test]
fn concat_and_lengths() {
    let (c, _) = conn();
    assert_eq!(text(&c, "concat('My', 'S', 'QL')"), "MySQL");
    null(&c, "concat('My', NULL, 'QL')");
    assert_eq!(text(&c, "concat(14.3)"), "14.3");
    assert_eq!(
        text(
            &c,
            "concat_ws(',', 'First name', 'Second name', 'Last Name')"
        ),
        "First name,Second name,Last Name"
    );
    assert_eq!(
        text(&c, "concat_ws(',', 'First name', NULL, 'Last Name')"),
        "First name,Last Name"
    );
    null(&c, "concat_ws(NULL, 'a')");
    assert_eq!(int(&c, "length('text')"), 4);
    assert_eq!(int(&c, "length('héllo')"), 6);
    assert_eq!(int(&c, "octet_length('€')"), 3);
    assert_eq!(int(&c, "char_length('héllo')"), 5);
    assert_eq!(int(&c, "character_length('€')"), 1);
    assert_eq!(int(&c, "length(123)"), 3);
}

#[test]
fn case_and_trim() {
    let (c, _) = conn();
    assert_eq!(text(&c, "lower('QUADRATICALLY')"), "quadratically");
    assert_eq!(text(&c, "ucase('Hej')"), "HEJ");
    assert_eq!(text(&c, "ltrim('  barbar')"), "barbar");
    assert_eq!(text(&c, "rtrim('barbar   ')"), "barbar");
    assert_eq!(text(&c, "trim('  bar   ')"), "bar");
    assert_eq!(text(&c, "trim_leading('xxxbarxxx', 'x')"), "barxxx");
    assert_eq!(text(&c, "trim_both('xxxbarxxx', 'x')"), "bar");
    assert_eq!(text(&c, "trim_trailing('barxxyz', 'xyz')"), "barx");
    assert_eq!(text(&c, "trim('xyxbarxy', 'xy')"), "xbar");
    assert_eq!(text(&c, "reverse('abc')"), "cba");
}

#[test]
fn substrings() {
    let (c, _) = conn();
    assert_eq!(text(&c, "left('foobarbar', 5)"), "fooba");
    assert_eq!(text(&c, "right('foobarbar', 4)"), "rbar");
    assert_eq!(text(&c, "substring('Quadratically', 5)"), "ratically");
    assert_eq!(text(&c, "substring('foobarbar', 4)"), "barbar");
    assert_eq!(text(&c, "substring('Quadratically', 5, 6)"), "ratica");
    assert_eq!(text(&c, "substring('Sakila', -3)"), "ila");
    assert_eq!(text(&c, "substring('Sakila', -5, 3)"), "aki");
    assert_eq!(text(&c, "mid('Sakila', 0)"), "");
    assert_eq!(text(&c, "substr('héllo', 2, 3)"), "éll");
    assert_eq!(
        text(&c, "substring_index('www.mysql.com', '.', 2)"),
        "www.mysql"
    );
    assert_eq!(
        text(&c, "substring_index('www.mysql.com', '.', -2)"),
        "mysql.com"
    );
    assert_eq!(
        text(&c, "substring_index('www.mysql.com', '.', 10)"),
        "www.mysql.com"
    );
}

#[test]
fn searching() {
    let (c, _) = conn();
    assert_eq!(int(&c, "locate('bar', 'foobarbar')"), 4);
    assert_eq!(int(&c, "locate('xbar', 'foobar')"), 0);
    assert_eq!(int(&c, "locate('bar', 'foobarbar', 5)"), 7);
    assert_eq!(int(&c, "instr('foobarbar', 'bar')"), 4);
    assert_eq!(int(&c, "instr('xbar', 'foobar')"), 0);
    assert_eq!(int(&c, "instr('FooBar', 'bar')"), 4);
    assert_eq!(int(&c, "field('Bb', 'Aa', 'Bb', 'Cc', 'Dd', 'Ff')"), 2);
    assert_eq!(int(&c, "field('Gg', 'Aa', 'Bb', 'Cc', 'Dd', 'Ff')"), 0);
    assert_eq!(int(&c, "field(NULL, 'a')"), 0);
    assert_eq!(int(&c, "field(2, 1, 2, 3)"), 2);
    assert_eq!(int(&c, "find_in_set('b', 'a,b,c,d')"), 2);
    assert_eq!(int(&c, "find_in_set('B', 'a,b,c,d')"), 2);
    assert_eq!(int(&c, "find_in_set('a,b', 'a,b,c')"), 0);
    null(&c, "find_in_set(NULL, 'a')");
    assert_eq!(text(&c, "elt(1, 'Aa', 'Bb', 'Cc', 'Dd')"), "Aa");
    assert_eq!(text(&c, "elt(4, 'Aa', 'Bb', 'Cc', 'Dd')"), "Dd");
    null(&c, "elt(5, 'Aa', 'Bb')");
    assert_eq!(int(&c, "strcmp('text', 'text2')"), -1);
    assert_eq!(int(&c, "strcmp('text2', 'text')"), 1);
    assert_eq!(int(&c, "strcmp('text', 'TEXT')"), 0);
}

#[test]
fn padding_and_building() {
    let (c, _) = conn();
    assert_eq!(text(&c, "lpad('hi', 4, '??')"), "??hi");
    assert_eq!(text(&c, "lpad('hi', 1, '??')"), "h");
    assert_eq!(text(&c, "rpad('hi', 5, '?')"), "hi???");
    assert_eq!(text(&c, "rpad('hi', 1, '?')"), "h");
    null(&c, "lpad('hi', -1, '?')");
    null(&c, "lpad('hi', 5, '')");
    assert_eq!(text(&c, "repeat('MySQL', 3)"), "MySQLMySQLMySQL");
    assert_eq!(text(&c, "repeat('a', 0)"), "");
    null(&c, "repeat('abc', 100000000)");
    assert_eq!(text(&c, "space(3)"), "   ");
    assert_eq!(
        text(&c, "\"insert\"('Quadratic', 3, 4, 'What')"),
        "QuWhattic"
    );
    assert_eq!(
        text(&c, "borealis_insert('Quadratic', -1, 4, 'What')"),
        "Quadratic"
    );
    assert_eq!(
        text(&c, "\"insert\"('Quadratic', 3, 100, 'What')"),
        "QuWhat"
    );
    assert_eq!(text(&c, "quote('Don''t!')"), "'Don\\'t!'");
    assert_eq!(text(&c, "quote(NULL)"), "NULL");
}

#[test]
fn codes_and_bases() {
    let (c, _) = conn();
    assert_eq!(int(&c, "ascii('2')"), 50);
    assert_eq!(int(&c, "ascii(2)"), 50);
    assert_eq!(int(&c, "ascii('dx')"), 100);
    assert_eq!(int(&c, "ascii('')"), 0);
    assert_eq!(int(&c, "ord('2')"), 50);
    assert_eq!(int(&c, "ord('é')"), 0xC3A9);
    assert_eq!(text(&c, "char(77, 121, 83, 81, '76')"), "MySQL");
    assert_eq!(text(&c, "char(77, 77.3, '77.3')"), "MMM");
    assert_eq!(text(&c, "hex('abc')"), "616263");
    assert_eq!(text(&c, "hex(255)"), "FF");
    assert_eq!(text(&c, "hex(-1)"), "FFFFFFFFFFFFFFFF");
    assert_eq!(text(&c, "CAST(unhex('4D7953514C') AS TEXT)"), "MySQL");
    null(&c, "unhex('GG')");
    assert_eq!(text(&c, "bin(12)"), "1100");
    assert_eq!(text(&c, "oct(12)"), "14");
    assert_eq!(text(&c, "conv('a', 16, 2)"), "1010");
    assert_eq!(text(&c, "conv('6E', 18, 8)"), "172");
    assert_eq!(text(&c, "conv(-17, 10, -18)"), "-H");
    assert_eq!(text(&c, "format(12332.123456, 4)"), "12,332.1235");
    assert_eq!(text(&c, "format(12332.1, 4)"), "12,332.1000");
    assert_eq!(text(&c, "format(12332.2, 0)"), "12,332");
}

#[test]
fn hashes_and_encodings() {
    let (c, _) = conn();
    assert_eq!(
        text(&c, "md5('testing')"),
        "ae2b1fca515949e5d54fb22b8ed95575"
    );
    assert_eq!(
        text(&c, "sha1('abc')"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        text(&c, "sha('abc')"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        text(&c, "sha2('abc', 256)"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        text(&c, "sha2('abc', 224)"),
        "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"
    );
    null(&c, "sha2('abc', 100)");
    assert_eq!(int(&c, "crc32('MySQL')"), 3_259_397_556);
    assert_eq!(int(&c, "crc32('mysql')"), 2_501_908_538);
    assert_eq!(text(&c, "to_base64('abc')"), "YWJj");
    assert_eq!(text(&c, "from_base64(to_base64('abc'))"), "abc");
    null(&c, "from_base64('!!')");
    let u = text(&c, "uuid()");
    assert_eq!(u.len(), 36);
    assert_eq!(u.matches('-').count(), 4);
    assert_ne!(u, text(&c, "uuid()"));
    let a = int(&c, "uuid_short()");
    let b = int(&c, "uuid_short()");
    assert!(b > a);
}

#[test]
fn regular_expressions() {
    let (c, _) = conn();
    assert_eq!(int(&c, "'Michael!' REGEXP '.*'"), 1);
    assert_eq!(int(&c, "'new*\n*line' REGEXP 'new\\*.\\*line'"), 0);
    assert_eq!(int(&c, "'a' REGEXP '^[a-d]'"), 1);
    assert_eq!(int(&c, "'ABC' REGEXP 'abc'"), 1);
    assert_eq!(int(&c, "regexp_like('CamelCase', 'CAMELCASE')"), 1);
    assert_eq!(int(&c, "regexp_like('CamelCase', 'CAMELCASE', 'c')"), 0);
    assert_eq!(int(&c, "regexp_like('abc', '[[:<:]]abc[[:>:]]')"), 1);
    assert_eq!(text(&c, "regexp_replace('a b c', 'b', 'X')"), "a X c");
    assert_eq!(
        text(&c, "regexp_replace('abc def ghi', '[a-z]+', 'X', 1, 3)"),
        "abc def X"
    );
    assert_eq!(
        text(&c, "regexp_replace('abc def', '([a-z]+)', '<$1>')"),
        "<abc> <def>"
    );
    assert_eq!(
        text(&c, "regexp_substr('abc def ghi', '[a-z]+', 1, 3)"),
        "ghi"
    );
    null(&c, "regexp_substr('abc', 'x')");
    assert_eq!(int(&c, "regexp_instr('dog cat dog', 'dog')"), 1);
    assert_eq!(int(&c, "regexp_instr('dog cat dog', 'dog', 2)"), 9);
    assert_eq!(int(&c, "regexp_instr('aa aaa aaaa', 'a{4}')"), 8);
    null(&c, "regexp_like(NULL, 'a')");
    let err = c.query_row("SELECT regexp_like('a', '(')", [], |r| r.get::<_, i64>(0));
    assert!(err.is_err());
}

#[test]
fn collations() {
    let (c, _) = conn();
    assert_eq!(int(&c, "'abc' = 'ABC' COLLATE mysql_ci"), 1);
    assert_eq!(int(&c, "'abc ' = 'ABC' COLLATE utf8mb4_0900_ai_ci"), 1);
    assert_eq!(int(&c, "'café' = 'CAFE' COLLATE utf8mb4_general_ci"), 1);
    assert_eq!(int(&c, "'abc' = 'ABC' COLLATE utf8mb4_bin"), 0);
    assert_eq!(int(&c, "'abc ' = 'abc' COLLATE utf8mb4_bin"), 1);
    assert_eq!(int(&c, "'abc ' = 'abc' COLLATE binary"), 0);
    c.execute_batch(
        "CREATE TABLE t (s TEXT COLLATE mysql_ci PRIMARY KEY);
         INSERT INTO t VALUES ('b'), ('A'), ('c');",
    )
    .unwrap();
    let dup = c.execute("INSERT INTO t VALUES ('a')", []);
    assert!(dup.is_err(), "case-insensitive primary key must reject 'a'");
    let order: Vec<String> = c
        .prepare("SELECT s FROM t ORDER BY s")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(order, ["A", "b", "c"]);
}
