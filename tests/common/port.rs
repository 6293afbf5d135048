//! Ports for the throwaway servers (sshd, PostgreSQL) the tests start.

/// A port on 127.0.0.1 that was free a moment ago and that this test
/// process has not handed out before. The kernel may give the same port to
/// two `bind(0)` calls in a row once the first has let go, so servers
/// started side by side (tests/bind_many.rs starts 20) would otherwise be
/// told the same port; the second would fail to bind while its readiness
/// probe reached the first. Another test process can still take the port
/// before the server binds it: each harness checks that *its* server says
/// it listens, and tries another port if not.
pub fn free_port() -> u16 {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if given.insert(port) {
            return port;
        }
    }
}
