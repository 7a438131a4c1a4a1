use super::wrk_rows::slow_clients_row;
use super::*;
use crate::nginx::Flavour;

#[test]
fn stage_02_is_also_measured_with_its_other_pools() {
    let names: Vec<String> = servers(&["stage02-threadpool"])
        .into_iter()
        .map(|server| server.name)
        .collect();
    assert!(names.ends_with(&[
        "stage02-threadpool".to_owned(),
        "stage02-threadpool-rayon".to_owned(),
        "stage02-threadpool-per-connection".to_owned(),
        "stage02-threadpool-8".to_owned(),
        "stage02-threadpool-64".to_owned(),
        "stage02-threadpool-cache".to_owned(),
        "stage02-threadpool-notes".to_owned(),
    ]));
}

#[test]
fn sized_variants_run_only_where_the_chapters_compare_them() {
    let names: Vec<String> = servers(&["stage03-prefork"])
        .into_iter()
        .map(|server| server.name)
        .collect();
    assert!(names.ends_with(&[
        "stage03-prefork".to_owned(),
        "stage03-prefork-2".to_owned(),
        "stage03-prefork-50".to_owned(),
        "stage03-prefork-2-reuseport".to_owned(),
        "stage03-prefork-50-reuseport".to_owned(),
        "stage03-prefork-cache".to_owned(),
        "stage03-prefork-notes".to_owned(),
    ]));
    for variant in STAGE_VARIANTS {
        // Every name says which stage it is, and every scenario it names exists.
        assert!(
            variant.name.starts_with(variant.package),
            "{}",
            variant.name
        );
        for id in variant.scenarios.unwrap_or_default() {
            assert!(scenario::find(id).is_some(), "{}: {id}", variant.name);
        }
    }
    assert!(runs_in(
        "stage03-prefork-50-reuseport",
        "connection-per-request"
    ));
    assert!(!runs_in(
        "stage03-prefork-50-reuseport",
        "small-keepalive-1"
    ));
    assert!(!runs_in("stage02-threadpool-8", "idle-connections"));
    // The stages themselves and the unlimited variants run everywhere.
    assert!(runs_in("stage03-prefork", "small-keepalive-1"));
    assert!(runs_in("stage02-threadpool-rayon", "idle-connections"));
    assert!(runs_in(NGINX, "idle-connections"));
}

#[test]
fn slow_clients_are_for_nginx_and_the_plain_stages() {
    let id = "slow-clients";
    for name in [
        NGINX,
        "stage01-blocking",
        "stage02-threadpool",
        "stage02-threadpool-rayon",
        "stage02-threadpool-per-connection",
        "stage03-prefork",
        "stage04-evented",
        "stage05-async",
    ] {
        assert!(runs_in(name, id), "{name}");
    }
    for name in [
        FLOOR,
        NGINX_TUNED,
        HYPER,
        "stage02-threadpool-8",
        "stage03-prefork-2",
        "stage03-prefork-cache",
        "stage05-async-notes",
        "stage06-tls",
        "stage07-http2",
    ] {
        assert!(!runs_in(name, id), "{name}");
    }
}

#[test]
fn a_slow_clients_run_with_nothing_answered_is_kept_as_the_measurement() {
    let sample = |requests, errors| Sample {
        requests,
        errors,
        seconds: 5.0,
        ..Sample::default()
    };
    let window = |cut, fewest_connected| slow_clients::Window {
        cut,
        answered: cut / 2,
        fewest_connected,
        ..slow_clients::Window::default()
    };
    let mut row = Row::without_numbers("stage01-blocking", "slow-clients", Status::Ok);
    row.samples = vec![sample(0, 50), sample(3, 48)];
    slow_clients_row(&mut row, 64, &[window(2, 64), window(4, 63)]);
    settle_status(&mut row);
    assert_eq!(row.status, Status::Errors);
    assert!(
        row.note.contains("no request was answered in 1 of 2 runs"),
        "{}",
        row.note
    );
    assert!(
        row.note.contains("at the fewest 63 of the 64"),
        "{}",
        row.note
    );
    let slow = row.slow_clients.expect("counted");
    assert_eq!((slow.cut.as_slice(), slow.answered), (&[2, 4][..], 3));
    assert_eq!(slow.cut_per_window(), Some(3.0));
    // Everything answered, every slow client held: nothing to say.
    let mut row = Row::without_numbers(NGINX, "slow-clients", Status::Ok);
    row.samples = vec![sample(1000, 0)];
    slow_clients_row(&mut row, 64, &[window(150, 64)]);
    settle_status(&mut row);
    assert_eq!((row.status, row.note.as_str()), (Status::Ok, ""));
}

#[test]
fn slow_mix_does_not_apply_to_fixed_answers() {
    let slow = scenario::find("slow-mix").expect("known");
    let small = scenario::find("small-keepalive-50").expect("known");
    assert!(not_applicable(&ServerKind::Floor, &slow).is_some());
    assert!(not_applicable(&ServerKind::Nginx(Flavour::Tuned), &slow).is_some());
    assert!(not_applicable(&ServerKind::Hyper, &slow).is_none());
    let stage01 = ServerKind::Stage {
        package: "stage01-blocking",
        args: &[],
        example: None,
    };
    assert!(not_applicable(&stage01, &slow).is_none());
    assert!(not_applicable(&ServerKind::Floor, &small).is_none());
    let names: Vec<String> = servers(&["stage01-blocking"])
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        names,
        [
            FLOOR,
            NGINX,
            NGINX_TUNED,
            HYPER,
            "stage01-blocking",
            "stage01-blocking-cache",
            "stage01-blocking-notes"
        ]
    );
    // The compressed scenarios are for servers that compress; the cache rows only for them.
    let gzip = scenario::find("gzip-100k").expect("known");
    assert!(not_applicable(&ServerKind::Floor, &gzip).is_some());
    assert!(not_applicable(&ServerKind::Hyper, &gzip).is_some());
    assert!(not_applicable(&stage01, &gzip).is_none());
    assert!(runs_in("stage04-evented-cache", "gzip-small"));
    assert!(!runs_in("stage04-evented-cache", "small-keepalive-50"));
}

#[test]
fn open_loop_output_becomes_a_sample() {
    let stdout = "{\"target_rate\":20000.0,\"achieved_rate\":19950.5,\"completed\":99750,\
                  \"errors\":1,\"non_2xx\":2,\"unanswered\":53,\"latency_us\":{\"p50\":95,\"p99\":410,\
                  \"p999\":2300,\"max\":5100},\"lateness_us\":{\"p50\":3,\"p99\":21}}\n";
    let sample = parse_openloop(stdout, 5.0).expect("valid output");
    assert_eq!(sample.requests, 99_750);
    // 1 error, 2 non-2xx, and 3 unanswered beyond one in flight per connection.
    assert_eq!(sample.errors, 6);
    assert_eq!(sample.target_rate, Some(20_000.0));
    assert_eq!(sample.lateness_p99_us, Some(21.0));
    assert_eq!((sample.p50_us, sample.p999_us), (95.0, 2300.0));
    assert!(parse_openloop("openloop: connection refused\n", 5.0).is_err());
}

#[test]
fn status_follows_the_samples() {
    let sample = |requests, errors| Sample {
        requests,
        errors,
        seconds: 1.0,
        ..Sample::default()
    };
    let settled = |samples: Vec<Sample>| {
        let mut row = Row::without_numbers("x", "y", Status::Ok);
        row.samples = samples;
        settle_status(&mut row);
        row.status
    };
    assert_eq!(settled(vec![sample(10, 0)]), Status::Ok);
    assert_eq!(settled(vec![sample(10, 0), sample(10, 3)]), Status::Errors);
    assert!(matches!(settled(vec![sample(0, 5)]), Status::Failed(_)));
    assert!(matches!(settled(vec![]), Status::Failed(_)));
}

#[test]
fn verify_outputs_names_what_is_missing() {
    let scratch = stagekit::scratch::TempDir::new("verify");
    let dir = scratch.path().to_path_buf();
    let json = serde_json::json!({"rows": [
        {"server": "floor", "scenario": "small-keepalive-1"},
    ]});
    fs::write(dir.join("results.json"), json.to_string()).expect("write");
    for file in [
        "summary.md",
        "header.md",
        "legend.md",
        "generators.md",
        "goals.md",
    ] {
        fs::write(dir.join(file), "x").expect("write");
    }
    fs::write(dir.join("small-keepalive-1.md"), "x").expect("write");
    fs::write(dir.join("small-keepalive-1.svg"), "x").expect("write");
    let servers = vec!["floor".to_owned(), "stage01-blocking".to_owned()];
    let error =
        verify_outputs(&dir, &servers, &["small-keepalive-1"]).expect_err("a row is missing");
    assert!(
        error.contains("row stage01-blocking / small-keepalive-1"),
        "{error}"
    );
    // The introduction's chart is written by every run, whatever its scenarios.
    assert!(error.contains("overview.svg"), "{error}");
    fs::write(dir.join("overview.svg"), "x").expect("write");
    assert!(verify_outputs(&dir, &servers[..1], &["small-keepalive-1"]).is_ok());
    // A variant that does not run in this scenario needs no row in it.
    let with_variant = vec!["floor".to_owned(), "stage02-threadpool-64".to_owned()];
    assert!(verify_outputs(&dir, &with_variant, &["small-keepalive-1"]).is_ok());
}

#[test]
fn tls_scenarios_have_rows_for_the_servers_that_speak_tls_and_the_plain_baseline() {
    use crate::scenario::Transport;
    let tls = scenario::find("tls-small-keepalive-50").expect("known");
    let handshakes = scenario::find("tls-handshakes-full-13").expect("known");
    let hybrid = scenario::find("tls-handshakes-full-13-hybrid").expect("known");
    assert!(runs_in(NGINX, tls.id) && runs_in("stage06-tls", tls.id));
    assert!(!runs_in(NGINX_TUNED, tls.id) && !runs_in(FLOOR, tls.id) && !runs_in(HYPER, tls.id));
    assert!(!runs_in("stage04-evented", tls.id));
    // Stage 05 over plain HTTP is the baseline where TLS has a plain counterpart.
    assert!(runs_in("stage05-async", tls.id));
    assert!(!runs_in("stage05-async", handshakes.id));
    assert_eq!(transport("stage05-async", &tls), Transport::Plain);
    assert_eq!(transport("stage06-tls", &tls), Transport::Tls);
    assert_eq!(transport(NGINX, &tls), Transport::Tls);
    // Stage 06 speaks only TLS: no row in the plain scenarios.
    assert!(!runs_in("stage06-tls", "small-keepalive-50"));
    assert!(runs_in("stage05-async", "small-keepalive-50"));
    assert_eq!(
        transport(NGINX, &scenario::find("small-keepalive-50").expect("known")),
        Transport::Plain
    );
    // The variants: the hybrid off only where the hybrid is offered; ring in every handshake
    // load and the instruction counts, and in no request load.
    assert!(runs_in("stage06-tls-no-pq", hybrid.id));
    assert!(!runs_in("stage06-tls-no-pq", handshakes.id));
    assert!(runs_in("stage06-tls-ring", handshakes.id));
    assert!(runs_in("stage06-tls-ring", "tls-handshake-instructions"));
    assert!(!runs_in("stage06-tls-ring", tls.id));
    assert!(!runs_in("stage06-tls-ring", hybrid.id));
    // nginx has no ML-KEM: not applicable, with the reason.
    let nginx = ServerKind::Nginx(Flavour::AsShipped);
    assert!(not_applicable(&nginx, &hybrid).is_some_and(|why| why.contains("OpenSSL 3.0")));
    assert!(not_applicable(&nginx, &handshakes).is_none());
    let names: Vec<String> = servers(&["stage05-async", "stage06-tls"])
        .into_iter()
        .map(|server| server.name)
        .collect();
    assert!(names.ends_with(&[
        "stage05-async".to_owned(),
        "stage05-async-cache".to_owned(),
        "stage05-async-notes".to_owned(),
        "stage06-tls".to_owned(),
        "stage06-tls-no-pq".to_owned(),
        "stage06-tls-ring".to_owned(),
        "stage06-tls-notes".to_owned(),
    ]));
}

#[test]
fn the_notes_scenarios_run_the_notes_example_on_every_stage_and_nothing_else() {
    let stages = crate::options::STAGES;
    let servers = servers(&stages);
    for id in scenario::NOTES_SCENARIOS {
        let rows: Vec<&Server> = servers.iter().filter(|s| runs_in(&s.name, id)).collect();
        assert!(!rows.is_empty(), "{id}");
        for row in &rows {
            assert!(
                matches!(
                    row.kind,
                    ServerKind::Stage {
                        example: Some(NOTES_EXAMPLE),
                        ..
                    }
                ),
                "{id}: {}",
                row.name
            );
        }
    }
    // Each stage has its notes row in one of them: plain for 01 to 05, TLS for 06 and 07.
    for stage in stages {
        let name = format!("{stage}-notes");
        let plain = runs_in(&name, "notes-api");
        let tls = runs_in(&name, "tls-notes-api");
        assert!(plain != tls, "{name}");
        assert_eq!(
            tls,
            ["stage06-tls", "stage07-http2"].contains(&stage),
            "{name}"
        );
        // And in no other scenario.
        assert!(!runs_in(&name, "small-keepalive-50") && !runs_in(&name, "h2-tls-m10"));
    }
    let tls = scenario::find("tls-notes-api").expect("known");
    assert_eq!(transport("stage07-http2-notes", &tls), Transport::Tls);
    assert_eq!(stage_number("stage07-http2"), Some(7));
    assert_eq!(stage_number("stage01-blocking"), Some(1));
    assert_eq!(stage_number("floor"), None);
}

#[test]
fn http2_scenarios_have_rows_for_nginx_stage_07_and_hyper_in_h2c() {
    use crate::scenario::Transport;
    let over_tls = scenario::find("h2-tls-m10").expect("known");
    let h2c = scenario::find("h2c-m10").expect("known");
    for scenario in [&over_tls, &h2c] {
        assert!(runs_in(NGINX, scenario.id) && runs_in(HYPER, scenario.id));
        assert!(runs_in("stage07-http2", scenario.id));
        for other in [
            FLOOR,
            NGINX_TUNED,
            "stage05-async",
            "stage06-tls",
            "stage06-tls-ring",
        ] {
            assert!(!runs_in(other, scenario.id), "{other} in {}", scenario.id);
        }
    }
    assert_eq!(transport("stage07-http2", &over_tls), Transport::Tls);
    assert_eq!(transport("stage07-http2", &h2c), Transport::Plain);
    // Stage 07 is in no HTTP/1.1 scenario: there it is stage 06.
    for id in [
        "small-keepalive-50",
        "tls-small-keepalive-50",
        "idle-connections",
    ] {
        assert!(!runs_in("stage07-http2", id), "{id}");
    }
    // hyper's example speaks TLS (tokio-rustls) and h2c: it runs in both.
    assert!(not_applicable(&ServerKind::Hyper, &over_tls).is_none());
    assert!(not_applicable(&ServerKind::Hyper, &h2c).is_none());
    // The page loads: the HTTP/2 servers, over TLS, and no one else.
    for id in ["page-load-h1", "page-load-h2-rtt50"] {
        for name in ["nginx", "hyper", "stage07-http2"] {
            assert!(runs_in(name, id), "{name} in {id}");
        }
        for name in ["floor", "nginx-tuned", "stage06-tls", "stage05-async"] {
            assert!(!runs_in(name, id), "{name} in {id}");
        }
    }
    assert!(not_applicable(&ServerKind::Nginx(Flavour::AsShipped), &over_tls).is_none());
}
