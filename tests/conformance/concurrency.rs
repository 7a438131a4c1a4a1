//! Who waits for whom. A concurrent stage answers a second client while a first one holds its
//! connection; a stage declared `concurrent: false` (stage 01) must show exactly the limitation
//! the book describes: the second client waits until the first connection is closed, here by
//! the server's idle timeout, so about `--idle-timeout`, neither forever nor not at all.

use std::time::Duration;

use stagekit::{Server, Stage};

use crate::support::*;

pub fn second_client_while_first_is_idle(stage: &Stage) {
    let server = Server::start(stage, &["--idle-timeout", "1s"]);
    let (waited, mut first) = second_client_behind_an_idle_one(&server);
    if stage.capabilities.concurrent {
        assert!(
            waited < Duration::from_millis(500),
            "a concurrent stage answered the second client only after {waited:?}"
        );
        first
            .expect_silence(Duration::from_millis(100))
            .or_fail("the first client's connection stays open meanwhile");
    } else {
        assert!(
            (Duration::from_millis(700)..=Duration::from_secs(3)).contains(&waited),
            "stage {} is declared not concurrent: the second client should wait for the \
             first connection's 1 s idle timeout, but waited {waited:?}",
            stage.package
        );
        first.set_timeout(Duration::from_millis(500));
        first
            .expect_closed()
            .or_fail("the first client's connection was closed by the idle timeout");
    }
}

/// Two `/slow?ms=500` on two connections at once (each with `Connection: close`, so a one-at-a-time
/// server moves on as soon as it has answered): overlapped in a concurrent stage (about 0.5 s in
/// all), one after the other otherwise (about 1 s).
pub fn slow_requests_on_two_connections(stage: &Stage) {
    let server = Server::start(stage, &[]);
    let took = Clients::start(&server, 2, &slow(Duration::from_millis(500))).join_ok();
    if stage.capabilities.concurrent {
        assert!(
            took < Duration::from_millis(950),
            "two 500 ms requests on two connections took {took:?}: they did not overlap"
        );
    } else {
        assert!(
            (Duration::from_millis(1000)..Duration::from_secs(4)).contains(&took),
            "stage {} is declared not concurrent: two 500 ms requests should take about 1 s \
             one after the other, took {took:?}",
            stage.package
        );
    }
}
