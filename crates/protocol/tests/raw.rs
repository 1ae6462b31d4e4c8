//! Raw-socket tests: exact packets, the auth switch, rarely used commands and malformed input.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use borealis_protocol::{CapabilityFlags, ServerConfig, ServerHandle, StatusFlags};
use mysql_common::auth::plugins::caching_sha2_password::scramble_sha256;
use mysql_common::auth::plugins::mysql_native_password::scramble_native;

struct Raw {
    s: TcpStream,
    seq: u8,
    scramble: [u8; 20],
}

fn caps() -> CapabilityFlags {
    use CapabilityFlags as C;
    C::CLIENT_PROTOCOL_41
        | C::CLIENT_SECURE_CONNECTION
        | C::CLIENT_PLUGIN_AUTH
        | C::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | C::CLIENT_DEPRECATE_EOF
        | C::CLIENT_MULTI_STATEMENTS
        | C::CLIENT_MULTI_RESULTS
        | C::CLIENT_CONNECT_WITH_DB
        | C::CLIENT_TRANSACTIONS
}

impl Raw {
    fn open(port: u16) -> (Raw, Vec<u8>) {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut raw = Raw {
            s,
            seq: 0,
            scramble: [0; 20],
        };
        let hs = raw.read().unwrap();
        (raw, hs)
    }

    fn read(&mut self) -> std::io::Result<Vec<u8>> {
        let mut h = [0u8; 4];
        self.s.read_exact(&mut h)?;
        let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
        assert_eq!(h[3], self.seq, "sequence id");
        self.seq = h[3].wrapping_add(1);
        let mut p = vec![0u8; len];
        self.s.read_exact(&mut p)?;
        Ok(p)
    }

    fn write(&mut self, payload: &[u8]) {
        let len = (payload.len() as u32).to_le_bytes();
        let mut b = vec![len[0], len[1], len[2], self.seq];
        b.extend_from_slice(payload);
        self.s.write_all(&b).unwrap();
        self.seq = self.seq.wrapping_add(1);
    }

    fn command(&mut self, payload: &[u8]) -> Vec<u8> {
        self.seq = 0;
        self.write(payload);
        self.read().unwrap()
    }

    /// True when the server closed the connection.
    fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.s.read(&mut b), Ok(0) | Err(_))
    }

    fn login_with(
        port: u16,
        user: &str,
        plugin: &str,
        response: impl Fn(&[u8; 20]) -> Vec<u8>,
    ) -> (Raw, Vec<u8>) {
        let (mut raw, hs) = Raw::open(port);
        let v_end = hs.iter().position(|&b| b == 0).unwrap();
        let p = v_end + 1;
        let mut scramble = [0u8; 20];
        scramble[..8].copy_from_slice(&hs[p + 4..p + 12]);
        scramble[8..].copy_from_slice(&hs[p + 31..p + 43]);
        raw.scramble = scramble;
        let mut pl = caps().bits().to_le_bytes().to_vec();
        pl.extend_from_slice(&(1u32 << 24).to_le_bytes());
        pl.push(255);
        pl.extend_from_slice(&[0; 23]);
        pl.extend_from_slice(user.as_bytes());
        pl.push(0);
        let auth = response(&scramble);
        pl.push(auth.len() as u8);
        pl.extend_from_slice(&auth);
        pl.extend_from_slice(b"testdb\0");
        pl.extend_from_slice(plugin.as_bytes());
        pl.push(0);
        raw.write(&pl);
        let reply = raw.read().unwrap();
        (raw, reply)
    }

    fn login(port: u16) -> Raw {
        let (raw, reply) = Raw::login_with(port, "root", "mysql_native_password", |_| Vec::new());
        assert_eq!(reply[0], 0, "{reply:?}");
        raw
    }
}

fn err_code(p: &[u8]) -> u16 {
    assert_eq!(p[0], 0xff, "expected ERR, got {p:?}");
    u16::from_le_bytes([p[1], p[2]])
}

fn ok_status(p: &[u8]) -> u16 {
    // header, affected (1 byte), last id (1 byte) in these tests
    assert!(p[0] == 0 || p[0] == 0xfe, "{p:?}");
    assert!(p[1] < 251 && p[2] < 251);
    u16::from_le_bytes([p[3], p[4]])
}

fn start() -> (ServerHandle, u16) {
    let (h, _toy) = common::start(ServerConfig::default());
    let port = h.local_addr().port();
    (h, port)
}

#[test]
fn native_directly_and_auth_switch_for_unknown_plugin() {
    let (_h, port) = start();
    let (_raw, reply) = Raw::login_with(port, "alice", "mysql_native_password", |s| {
        scramble_native(s, b"secret").unwrap().to_vec()
    });
    assert_eq!(reply[0], 0x00);

    let (mut raw, reply) = Raw::login_with(port, "alice", "mysql_clear_password", |_| {
        b"secret\0".to_vec()
    });
    assert_eq!(reply[0], 0xfe);
    let name_end = reply.iter().position(|&b| b == 0).unwrap();
    assert_eq!(&reply[1..name_end], b"caching_sha2_password");
    let fresh: [u8; 20] = reply[name_end + 1..name_end + 21].try_into().unwrap();
    assert_ne!(fresh, raw.scramble);
    raw.write(&scramble_sha256(&fresh, b"secret").unwrap());
    assert_eq!(raw.read().unwrap(), vec![0x01, 0x03]);
    assert_eq!(raw.read().unwrap()[0], 0x00);

    // Wrong password after a switch.
    let (mut raw, reply) = Raw::login_with(port, "alice", "some_plugin", |_| Vec::new());
    assert_eq!(reply[0], 0xfe);
    raw.write(b"0123456789012345678901234567890");
    assert_eq!(err_code(&raw.read().unwrap()), 1045);
    assert!(raw.closed());
}

#[test]
fn small_commands() {
    let (_h, port) = start();
    let mut raw = Raw::login(port);
    assert_eq!(raw.command(b"\x02other")[0], 0);
    assert_eq!(err_code(&raw.command(b"\x02missing")), 1049);
    // COM_FIELD_LIST: 4 column definitions, then the 0xFE OK marker.
    let first = raw.command(b"\x04t\0%");
    assert_eq!(&first[..4], &[3, b'd', b'e', b'f']);
    for _ in 0..3 {
        raw.read().unwrap();
    }
    assert_eq!(raw.read().unwrap()[0], 0xfe);
    assert_eq!(raw.command(b"\x09"), b"Uptime: 1  Threads: 1".to_vec());
    assert_eq!(raw.command(&[0x0c, 1, 0, 0, 0])[0], 0);
    assert_eq!(err_code(&raw.command(&[0x0c, 0xe7, 3, 0, 0])), 1094);
    assert_eq!(raw.command(&[0x1b, 1, 0])[0], 0xfe);
    assert_eq!(err_code(&raw.command(&[0x99, 1, 2])), 1047);
    assert_eq!(err_code(&raw.command(&[0x08])), 1047);
    assert_eq!(raw.command(&[0x0e])[0], 0);
    assert_eq!(
        err_code(&raw.command(&[0x17, 9, 0, 0, 0, 0, 1, 0, 0, 0])),
        1243
    );
    assert_eq!(err_code(&raw.command(&[0x1a, 9, 0, 0, 0])), 1243);
    assert_eq!(
        err_code(&raw.command(&[0x1c, 9, 0, 0, 0, 1, 0, 0, 0])),
        1243
    );
    assert_eq!(raw.command(&[0x1f])[0], 0);
    assert_eq!(raw.command(&[0x0e])[0], 0);
}

#[test]
fn multi_results_carry_status_flags() {
    let (_h, port) = start();
    let mut raw = Raw::login(port);
    let more = StatusFlags::SERVER_MORE_RESULTS_EXISTS.bits();
    let auto = StatusFlags::SERVER_STATUS_AUTOCOMMIT.bits();
    let in_trans = StatusFlags::SERVER_STATUS_IN_TRANS.bits();
    let ok1 = raw.command(b"\x03ok 1; begin; rows 1");
    assert_eq!(ok_status(&ok1), auto | more);
    assert_eq!(ok1[1], 1);
    let ok2 = raw.read().unwrap();
    assert_eq!(ok_status(&ok2) & more, more);
    assert_eq!(raw.read().unwrap(), vec![4]); // column count
    for _ in 0..4 {
        raw.read().unwrap();
    }
    let row = raw.read().unwrap();
    assert_eq!(&row[..3], &[1, b'0', 2]);
    let end = raw.read().unwrap();
    assert_eq!(end[0], 0xfe);
    assert_eq!(ok_status(&end), in_trans);
    assert_eq!(raw.command(b"\x03commit")[0], 0);
}

fn prepare(raw: &mut Raw, sql: &[u8]) -> (u32, u16) {
    let mut p = vec![0x16];
    p.extend_from_slice(sql);
    let r = raw.command(&p);
    assert_eq!(r[0], 0, "{r:?}");
    let id = u32::from_le_bytes(r[1..5].try_into().unwrap());
    let cols = u16::from_le_bytes([r[5], r[6]]);
    let params = u16::from_le_bytes([r[7], r[8]]);
    for _ in 0..(cols + params) {
        raw.read().unwrap();
    }
    (id, params)
}

fn execute_header(id: u32) -> Vec<u8> {
    let mut p = vec![0x17];
    p.extend_from_slice(&id.to_le_bytes());
    p.push(0);
    p.extend_from_slice(&1u32.to_le_bytes());
    p
}

/// Reads a one-row binary result set and returns the row payload.
fn read_binary_row(raw: &mut Raw, first: Vec<u8>) -> Vec<u8> {
    let cols = first[0];
    for _ in 0..cols {
        raw.read().unwrap();
    }
    let row = raw.read().unwrap();
    assert_eq!(raw.read().unwrap()[0], 0xfe);
    row
}

#[test]
fn long_data_and_remembered_types() {
    let (_h, port) = start();
    let mut raw = Raw::login(port);
    let (id, params) = prepare(&mut raw, b"echo ?,?");
    assert_eq!(params, 2);

    // Execute with new_params_bound = 0 before any types were bound.
    let mut p = execute_header(id);
    p.extend_from_slice(&[0, 0]);
    assert_eq!(err_code(&raw.command(&p)), 1210);

    // Long data for parameter 1 (two chunks; no response to SEND_LONG_DATA).
    for chunk in [&b"long "[..], b"data"] {
        let mut ld = vec![0x18];
        ld.extend_from_slice(&id.to_le_bytes());
        ld.extend_from_slice(&1u16.to_le_bytes());
        ld.extend_from_slice(chunk);
        raw.seq = 0;
        raw.write(&ld);
    }
    let mut p = execute_header(id);
    p.extend_from_slice(&[0, 1, 8, 0, 252, 0]);
    p.extend_from_slice(&42i64.to_le_bytes());
    let first = raw.command(&p);
    let row = read_binary_row(&mut raw, first);
    let mut expected = vec![0u8, 0];
    expected.extend_from_slice(&42i64.to_le_bytes());
    expected.push(9);
    expected.extend_from_slice(b"long data");
    assert_eq!(row, expected);

    // Re-execute with remembered types; the long data was consumed.
    let mut p = execute_header(id);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&7i64.to_le_bytes());
    p.extend_from_slice(&[2, b'h', b'i']);
    let first = raw.command(&p);
    let row = read_binary_row(&mut raw, first);
    assert_eq!(&row[row.len() - 3..], &[2, b'h', b'i']);

    // NULL through the bitmap: parameter 0 is NULL (the echoed column has type NULL).
    let mut p = execute_header(id);
    p.extend_from_slice(&[1, 0, 1, b'x']);
    let first = raw.command(&p);
    let row = read_binary_row(&mut raw, first);
    assert_eq!(row, vec![0, 0b100, 1, b'x']);

    // COM_STMT_RESET clears pending long data; COM_STMT_FETCH has no cursor.
    assert_eq!(raw.command(&[0x1a, id as u8, 0, 0, 0])[0], 0);
    let mut f = vec![0x1c];
    f.extend_from_slice(&id.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    assert_eq!(err_code(&raw.command(&f)), 1421);

    // COM_STMT_CLOSE (no response), then the id is unknown.
    let mut c = vec![0x19];
    c.extend_from_slice(&id.to_le_bytes());
    raw.seq = 0;
    raw.write(&c);
    let mut p = execute_header(id);
    p.extend_from_slice(&[0, 0]);
    assert_eq!(err_code(&raw.command(&p)), 1243);
}

/// Runs `bad` on a fresh connection while another connection stays open, then checks that
/// the other connection still works.
fn survives(port: u16, bad: impl FnOnce(&mut Raw)) {
    let mut good = Raw::login(port);
    let mut victim = Raw::login(port);
    bad(&mut victim);
    assert_eq!(good.command(&[0x0e])[0], 0);
    assert_eq!(good.command(b"\x03rows 2")[0], 4);
}

#[test]
fn malformed_packets_close_only_that_connection() {
    let (h, port) = start();
    // Truncated header, then close.
    survives(port, |raw| {
        raw.s.write_all(&[5, 0]).unwrap();
        raw.s.shutdown(Shutdown::Write).unwrap();
        assert!(raw.closed());
    });
    // Length larger than the data, then close.
    survives(port, |raw| {
        raw.s.write_all(&[100, 0, 0, 0, 3, b'o', b'k']).unwrap();
        raw.s.shutdown(Shutdown::Write).unwrap();
        assert!(raw.closed());
    });
    // Empty command payload.
    survives(port, |raw| {
        assert_eq!(err_code(&raw.command(&[])), 1835);
        assert!(raw.closed());
    });
    // Truncated fixed fields.
    survives(port, |raw| {
        assert_eq!(err_code(&raw.command(&[0x17, 1, 0])), 1835);
        assert!(raw.closed());
    });
    // COM_STMT_EXECUTE with truncated parameters.
    survives(port, |raw| {
        let (id, _) = prepare(raw, b"echo ?,?");
        let mut p = execute_header(id);
        p.extend_from_slice(&[0, 1, 8, 0, 253, 0, 1, 2, 3]);
        assert_eq!(err_code(&raw.command(&p)), 1835);
        assert!(raw.closed());
    });
    // COM_STMT_EXECUTE with an invalid parameter type.
    survives(port, |raw| {
        let (id, _) = prepare(raw, b"echo ?");
        let mut p = execute_header(id);
        p.extend_from_slice(&[0, 1, 0x30, 0, 1]);
        assert_eq!(err_code(&raw.command(&p)), 1835);
        assert!(raw.closed());
    });
    // A panicking backend only ends its own connection.
    survives(port, |raw| {
        raw.seq = 0;
        raw.write(b"\x03panic");
        assert!(raw.closed());
    });
    // Garbage instead of a handshake response.
    survives(port, |_| {
        let (mut raw, _hs) = Raw::open(port);
        raw.seq = 1;
        raw.write(&[1, 2, 3, 4, 5]);
        let reply = raw.read().unwrap();
        assert!(err_code(&reply) == 1835 || err_code(&reply) == 1251);
        assert!(raw.closed());
    });
    // A client that asks for SSL.
    survives(port, |_| {
        let (mut raw, _hs) = Raw::open(port);
        raw.seq = 1;
        let mut p = (caps() | CapabilityFlags::CLIENT_SSL)
            .bits()
            .to_le_bytes()
            .to_vec();
        p.extend_from_slice(&[0; 28]);
        raw.write(&p);
        assert_eq!(err_code(&raw.read().unwrap()), 1047);
        assert!(raw.closed());
    });
    // Connections are counted down again.
    for _ in 0..200 {
        if h.connections() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(h.connections(), 0);
}

#[test]
fn max_allowed_packet_is_enforced() {
    let config = ServerConfig {
        max_allowed_packet: 1024,
        ..ServerConfig::default()
    };
    let (h, _toy) = common::start(config);
    let port = h.local_addr().port();
    survives(port, |raw| {
        let mut q = b"\x03ok 1".to_vec();
        q.extend_from_slice(&[b' '; 2000]);
        raw.seq = 0;
        raw.write(&q);
        let reply = raw.read().unwrap();
        assert_eq!(err_code(&reply), 1153);
        assert!(raw.closed());
    });
}

#[test]
fn too_many_connections_and_shutdown() {
    let config = ServerConfig {
        max_connections: 1,
        connection_id_start: 100,
        ..ServerConfig::default()
    };
    let (h, _toy) = common::start(config);
    let port = h.local_addr().port();
    let (first, hs) = Raw::open(port);
    let v_end = hs.iter().position(|&b| b == 0).unwrap();
    assert_eq!(
        u32::from_le_bytes(hs[v_end + 1..v_end + 5].try_into().unwrap()),
        100
    );
    let (mut second, reply) = {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut raw = Raw {
            s,
            seq: 0,
            scramble: [0; 20],
        };
        let reply = raw.read().unwrap();
        (raw, reply)
    };
    assert_eq!(err_code(&reply), 1040);
    assert!(second.closed());
    drop(first);
    for _ in 0..200 {
        if h.connections() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut again = Raw::login(port);
    assert_eq!(again.command(&[0x0e])[0], 0);
    h.shutdown();
    // The open connection keeps working; new ones are refused.
    assert_eq!(again.command(&[0x0e])[0], 0);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}
