//! For the stages that bound what they buffer for a client that does not read
//! ([`Capabilities::bounded_output`](stagekit::Capabilities::bounded_output): stages 04 and 05):
//! clients that pipeline thousands of requests for `/big.bin` (1 MiB) and never read make the
//! server neither grow its memory (VmRSS in `/proc/PID/status`) nor hold a file open per queued
//! response (`/proc/PID/fd`), others are still served at once, and the stalled responses were
//! only waiting: read later, they arrive whole.
//!
//! Both stages once failed this: each queued response held the file open (640 descriptors for
//! one connection in stage 04, 1773 in stage 05), until the protocol machine stopped answering
//! while a response's worth of output waits.

use std::io::{ErrorKind, Write};
use std::thread;
use std::time::{Duration, Instant};

use stagekit::{procfs, Server, Stage};

use crate::support::*;

/// Clients that flood the server.
const FLOODERS: usize = 4;

/// How long each client keeps writing requests (unless its buffers fill up before).
const FLOOD_FOR: Duration = Duration::from_secs(2);

pub fn a_client_that_never_reads_big_responses_does_not_grow_the_server(stage: &Stage) {
    let server = Server::start(stage, &["--threads", "1"]);
    let pid = server.pid();
    // Warm up: the file is opened, read from disk into the page cache, and sent once.
    let warm = exchange(&server, &get("/big.bin"));
    assert_eq!(warm.body.len(), 1 << 20);
    let rss_before = procfs::rss_bytes(pid).or_fail("reading the server's memory");
    let fds_before = procfs::open_fds(pid).or_fail("listing the server's descriptors");

    // Each client writes request after request and never reads: every buffer on the way (its
    // send buffer, the server's receive buffer, the server's output) fills up.
    let one = get("/big.bin");
    let batch = one.repeat(100);
    let mut flooders = Vec::with_capacity(FLOODERS);
    for _ in 0..FLOODERS {
        let flooder = connect(&server);
        // Over TLS the writer encrypts into the connection's session; a write that times out
        // keeps the rest of its record for later, so the stream stays whole.
        let mut writer = flooder.writer();
        writer
            .set_write_timeout(Some(Duration::from_millis(300)))
            .or_fail("setting a write timeout");
        let mut sent_requests = 0usize;
        let flood_until = Instant::now() + FLOOD_FOR;
        while Instant::now() < flood_until {
            match writer.write(&batch) {
                Ok(written) => sent_requests += written / one.len(),
                // The buffers are full: the server stopped reading, which is the point.
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    break
                }
                Err(error) => panic!("writing requests: {error}"),
            }
        }
        assert!(
            sent_requests > 1000,
            "a client should get at least a thousand requests into the buffers, got \
             {sent_requests}"
        );
        flooders.push((flooder, sent_requests));
    }
    // Time for the server to do whatever buffering it would do.
    thread::sleep(Duration::from_millis(1500));
    let rss_after = procfs::rss_bytes(pid).or_fail("reading the server's memory");
    let fds_after = procfs::open_fds(pid).or_fail("listing the server's descriptors");
    let sent: Vec<usize> = flooders.iter().map(|(_, sent)| *sent).collect();
    let grown = rss_after.saturating_sub(rss_before);
    eprintln!(
        "{FLOODERS} clients with {sent:?} unread big.bin requests: RSS {rss_before} -> \
         {rss_after} B (+{grown} B), open descriptors {fds_before} -> {fds_after}"
    );
    assert!(
        grown < 8 << 20,
        "the server's memory grew by {grown} bytes for responses nobody reads: it buffers \
         instead of waiting for the socket"
    );
    assert!(
        fds_after <= fds_before + 4 * FLOODERS,
        "{fds_after} descriptors open (from {fds_before}): the server answers requests whose \
         responses cannot leave, holding a file open for each"
    );

    // The stuck clients hold only their own connections: another client is served at once...
    expect_answered_within(
        &server,
        &get("/plaintext"),
        Duration::from_millis(500),
        &format!("beside {FLOODERS} clients that do not read"),
    );
    // ...and the stalled responses were only waiting: read two, they are whole.
    let (stalled, _) = &mut flooders[0];
    stalled.set_timeout(Duration::from_secs(10));
    for _ in 0..2 {
        let response = expect_status(stalled, &one, 200);
        assert_eq!(response.body.len(), 1 << 20);
    }
}
