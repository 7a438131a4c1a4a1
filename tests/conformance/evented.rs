//! Stage 04's own cases, beyond the shared ones and the capability cases it opts into (see the
//! stage list in `main.rs`):
//!
//! - with `--threads 4`, four event loops share the port, each with a listening socket of its
//!   own (SO_REUSEPORT), and all of them serve.

use std::thread;

use stagekit::Server;

use crate::stage04_evented::STAGE;
use crate::support::*;

/// The cases, in a module named after the stage so that `cargo test --test conformance stage04`
/// runs them together with the other cases of the stage.
mod stage04 {
    use super::*;

    #[test]
    fn four_loops_share_the_port_and_all_serve() {
        let server = Server::start(&STAGE, &["--threads", "4"]);
        let clients: Vec<_> = (0..8)
            .map(|_| {
                let connector = server.connector();
                thread::spawn(move || {
                    (0..25)
                        .map(|_| exchange_at(&connector, &get("/plaintext")).status)
                        .filter(|&status| status == 200)
                        .count()
                })
            })
            .collect();
        let served: usize = clients
            .into_iter()
            .map(|client| client.join().expect("a client thread panicked"))
            .sum();
        assert_eq!(served, 200, "every request on every connection is answered");
    }
}
