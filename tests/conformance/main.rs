//! The conformance suite: one set of cases, written once, run against the real binary of every
//! stage, started the way a user starts it (`NAME --addr 127.0.0.1:0 ...`).
//!
//! Each case is a plain function `fn(&Stage)` that starts its own server (tests run in parallel
//! and must not share state), talks to it through its socket, its signals or a real client, and
//! stops it by PID when it ends. For a stage that speaks TLS (stage 06, the `tls` capability)
//! every case is the same over TLS: the kit's server hands out TLS connections that trust the
//! certificate the server made at start, and curl gets `--cacert` with that file. The macros at the bottom turn every case into one `#[test]` per
//! stage, named `STAGE::MODULE::CASE`, so
//! `cargo test --test conformance stage01_blocking::smuggling` runs one group against one stage.
//!
//! Index of the case modules, roughly in the order a request meets the server:
//!
//! - [`basic`]: GET and HEAD, 404, 405 with `Allow`, `Date`, keep-alive and close rules
//!   (RFC 9112 section 9.3, RFC 9110 section 6.6.1).
//! - [`pipelining`]: several requests in one write, answered in order; a request split into
//!   one-byte writes (RFC 9112 section 9.3.2).
//! - [`bodies`]: request bodies by `Content-Length` and chunked (extensions, trailers), empty
//!   ones, `Expect: 100-continue` (RFC 9112 sections 6 and 7, RFC 9110 section 10.1.1).
//! - [`static_files`]: the bundled site, MIME types, ETag and `If-None-Match` / `If-Modified-Since`
//!   (304), byte ranges (206/416), path traversal (RFC 9110 sections 13 and 14).
//! - [`routes`]: the demo routes: `/hello/{name}`, `/plaintext`, `/healthz`, `/api/info`,
//!   `/slow`, `/metrics`.
//! - [`smuggling`]: ambiguous framing and malformed heads: each is refused with the right status,
//!   `Connection: close` and a closed connection, and a request appended to the bad one is never
//!   answered (RFC 9112 sections 2.2, 3, 5, 6.1, 6.3, 7.1; RFC 9110 section 5.5).
//! - [`limits`]: 414, 431 and 413 at the configured sizes, 413 before the body is read.
//! - [`timeouts`]: slowloris (408 after `--header-timeout`) and idle connections (closed after
//!   `--idle-timeout`).
//! - [`concurrency`]: who waits for whom; a stage without concurrency must show exactly the
//!   limitation the book describes.
//! - [`shutdown`]: SIGTERM / SIGINT finish the request in flight and exit 0.
//! - [`command_line`]: bad flags give a non-zero exit and one clear line on stderr, no panic.
//! - [`configuration`]: the config file and the environment beside the command line (the
//!   command line wins; a bad key or value exits 2 naming its source), SIGHUP re-reading the log
//!   level, `--log-file`, the banner of URLs, `--addr [::1]:0` and dual-stack `[::]:0`.
//! - [`curl`]: the same server driven by curl, a real client.
//! - [`server_status`]: `/server-status` and its counters: the JSON moves with the requests
//!   and connections (across stage 03's workers too), the page is escaped, `/metrics` has the
//!   latency histogram (and, for stage 01, Chromium draws the page's chart).
//! - [`pages`]: the generated pages: the root's `404.html`, the generated error page for a
//!   browser, `--dir-listing` with hostile names (and, for stage 01, Chromium's screenshot of it).
//! - [`compression`], [`caching`], [`vhosts`]: gzip and brotli by `Accept-Encoding` (curl
//!   `--compressed` too), precompressed siblings, ranges of coded bodies; `Cache-Control` by type
//!   and the file cache's age bound; a document root per `Host`.
//! - [`notes`]: `examples/notes.rs`, a reader's own application, run on the stage with
//!   `--stage N` and driven end to end.
//! - [`uploads`]: `POST /upload` with `--upload-dir`: a 64 MiB file through curl (HTTP/2 on
//!   stage 07) arrives byte for byte while the server's peak memory stays under half of it; an
//!   upload cut off (by hand, or by curl giving up, over HTTP/2 on stage 07), malformed or past
//!   `--max-upload` leaves no file; unsafe names are made safe
//!   and never overwrite (RFC 7578).
//! - [`guards`]: the security headers, CORS preflights (with curl), `--allowed-host`'s 421 and
//!   Basic authentication (`curl -u`, a file made by `htpasswd -B`, a bad file refused at start).
//! - [`client_limit`]: `--max-connections-per-client`'s `429`, for every concurrent stage.
//! - [`many_connections`], [`max_connections`], [`offloads_blocking`], [`bounded_output`]: the
//!   cases of the [`Capabilities`] beyond the shared ones, each run only for the stages whose
//!   line below has the capability (stages 04 to 06): two thousand idle connections and fifty
//!   slowloris clients on one thread; a 503 past `--max-connections`; a fast request beside four
//!   `/slow`, and SIGTERM with a `/slow` in flight; clients that never read big responses.
//! - `tls` has no module here: it changes how every case reaches the server, not what it
//!   checks. What only TLS has (ALPN, SNI, resumption, reload, handshake defences, real TLS
//!   peers) is tested in `tests/tls/`.
//! - [`threadpool`]: stage 02 only: `--threads`, `--pool` and an idle connection holding a worker.
//! - [`prefork`]: stage 03 only: a killed worker is replaced, SIGHUP restarts the workers one at
//!   a time without a failed request, SIGTERM leaves no worker, `--workers`, `--reuseport`.
//! - [`evented`]: stage 04 only: `--threads 4` loops sharing the port.
//! - [`socket_activation`]: every stage started by `systemd-socket-activate` on a socket it made,
//!   and the unit files in `deploy/systemd/`.
//!
//! [`support`] holds the request builders, the client threads and the assertions the cases
//! share; building, starting, signalling and reading the servers (and their `/proc` files) is
//! the stage kit's (`stagekit`, in `tests/kit/`).

mod basic;
mod bodies;
mod bounded_output;
mod caching;
mod client_limit;
mod command_line;
mod compression;
mod concurrency;
mod configuration;
mod curl;
mod evented;
mod guards;
mod limits;
mod many_connections;
mod max_connections;
mod notes;
mod offloads_blocking;
mod pages;
mod pipelining;
mod prefork;
mod routes;
mod server_status;
mod shutdown;
mod smuggling;
mod socket_activation;
mod static_files;
mod support;
mod threadpool;
mod timeouts;
mod uploads;
mod vhosts;

use stagekit::{Capabilities, Stage};

// ANCHOR: stages
// Every stage under test, one entry each: the module name of its tests, its package (and binary)
// name, and what its model can do beyond the shared cases (the fields of `Capabilities`; an
// entry without `concurrent` says the stage serves one connection at a time).
stages! {
    stage01_blocking = "stage01-blocking", [];
    stage02_threadpool = "stage02-threadpool", [concurrent];
    stage03_prefork = "stage03-prefork", [concurrent];
    stage04_evented = "stage04-evented",
        [concurrent, many_connections, max_connections, offloads_blocking, bounded_output];
    stage05_async = "stage05-async",
        [concurrent, many_connections, max_connections, offloads_blocking, bounded_output];
    stage06_tls = "stage06-tls",
        [concurrent, many_connections, max_connections, offloads_blocking, bounded_output, tls];
    stage07_http2 = "stage07-http2",
        [concurrent, many_connections, max_connections, offloads_blocking, bounded_output, tls];
}
// ANCHOR_END: stages

/// Expands each stage entry into a module holding its [`Stage`] (for the stage-only modules) and
/// one `#[test]` per case: every shared case, and the cases of each capability in its entry.
macro_rules! stages {
    ($($module:ident = $package:literal, [$($capability:ident),* $(,)?];)*) => {
        $(
            mod $module {
                #[allow(unused_imports)]
                use super::*;
                // A stage may have every capability, which leaves `..NONE` nothing to fill in.
                #[allow(clippy::needless_update)]
                pub(crate) const STAGE: Stage = Stage::new(
                    $package,
                    Capabilities { $($capability: true,)* ..Capabilities::NONE },
                );
                all_cases!(STAGE);
                $(capability_cases!($capability, STAGE);)*
            }
        )*
    };
}
use stages;

/// The cases of each capability, run only for the stages that have it. `concurrent` has only
/// [`client_limit`] of its own: the [`concurrency`] cases run for every stage and check the
/// limitation where it is off. Nor has `tls`: every case runs over TLS for such a stage. A capability without an arm
/// here does not compile.
macro_rules! capability_cases {
    (concurrent, $stage:ident) => {
        cases! { $stage;
            client_limit: [a_client_past_its_connection_limit_gets_429_until_one_closes],
        }
    };
    (tls, $stage:ident) => {};
    (many_connections, $stage:ident) => {
        cases! { $stage;
            many_connections: [
                thousands_of_idle_connections_are_held,
                slowloris_clients_are_all_cut_at_the_header_timeout,
            ],
        }
    };
    (max_connections, $stage:ident) => {
        cases! { $stage;
            max_connections: [
                over_max_connections_is_refused_with_503_until_one_closes,
                the_503_past_max_connections_names_the_limit_and_has_a_date,
            ],
        }
    };
    (offloads_blocking, $stage:ident) => {
        cases! { $stage;
            offloads_blocking: [
                a_fast_request_is_answered_while_four_slow_ones_run_on_one_thread,
                sigterm_closes_idle_connections_at_once_and_lets_slow_ones_finish,
            ],
        }
    };
    (bounded_output, $stage:ident) => {
        cases! { $stage;
            bounded_output: [a_client_that_never_reads_big_responses_does_not_grow_the_server],
        }
    };
}
use capability_cases;

/// The list of every case, grouped by module. A case function missing from this list is
/// reported by the compiler as dead code, so the list cannot silently fall behind.
macro_rules! all_cases {
    ($stage:ident) => {
        cases! { $stage;
            configuration: [
                the_config_file_is_read_and_the_command_line_wins,
                an_unknown_config_key_exits_2_naming_the_file,
                a_bad_environment_value_exits_2_naming_the_variable,
                the_banner_lists_the_urls,
                ipv6_loopback_serves,
                dual_stack_answers_both_families,
                the_log_file_gets_the_log,
                json_access_lines_carry_the_trace_id,
                sighup_rereads_the_log_level,
            ],
            basic: [
                get_root_serves_index_html,
                head_has_the_headers_of_get_and_no_body,
                unknown_path_is_404_and_keeps_the_connection,
                wrong_method_is_405_with_allow,
                the_site_form_posts_to_root,
                every_response_has_a_valid_date,
                http11_keeps_the_connection_alive,
                http10_closes_by_default,
                http10_keeps_alive_when_asked,
                connection_close_is_honoured,
            ],
            pipelining: [
                three_requests_in_one_write_are_answered_in_order,
                pipelined_post_between_gets_keeps_framing,
                deep_pipeline_beyond_the_parse_ahead_limit,
                request_sent_one_byte_per_write,
                chunked_body_sent_one_byte_per_write,
            ],
            bodies: [
                echo_with_content_length,
                echo_chunked_with_extensions_and_trailers,
                echo_zero_length_body,
                post_without_framing_has_an_empty_body,
                expect_100_continue_gets_100_then_the_response,
                large_body_is_echoed_exactly,
                content_length_with_surrounding_whitespace_is_accepted,
                transfer_coding_names_are_case_insensitive,
                identical_duplicate_content_length_is_accepted,
            ],
            static_files: [
                every_site_file_is_served_with_its_type,
                directory_serves_its_index,
                big_bin_is_exactly_one_mebibyte,
                if_none_match_gives_304,
                if_modified_since_gives_304,
                if_none_match_takes_precedence_over_if_modified_since,
                single_byte_ranges_give_206,
                unsatisfiable_range_gives_416,
                unknown_range_unit_is_ignored,
                traversal_never_escapes_the_root,
                small_files_on_a_kept_alive_connection_are_not_held_back,
            ],
            routes: [
                hello_echoes_the_name,
                hello_does_not_reflect_markup_into_html,
                plaintext_is_hello_world,
                healthz_is_ok,
                api_info_is_json_about_this_process,
                slow_waits_the_requested_time,
                metrics_are_prometheus_text,
                a_panicking_handler_is_a_500_and_the_connection_goes_on,
            ],
            smuggling: [
                content_length_with_chunked_is_400,
                chunked_with_content_length_is_400,
                two_different_content_lengths_are_400,
                content_length_list_with_different_values_is_400,
                content_length_plus_sign_is_400,
                content_length_minus_sign_is_400,
                content_length_hex_is_400,
                content_length_with_inner_space_is_400,
                content_length_empty_is_400,
                content_length_overflowing_u64_is_refused,
                transfer_encoding_gzip_only_is_400,
                transfer_encoding_chunked_then_gzip_is_400,
                transfer_encoding_chunked_twice_is_400,
                transfer_encoding_chunked_in_two_fields_is_400,
                unknown_coding_before_chunked_is_501,
                transfer_encoding_in_http10_is_400,
                whitespace_before_colon_is_400,
                obs_fold_is_400,
                nul_in_field_value_is_400,
                bare_cr_in_field_value_is_400,
                http11_without_host_is_400,
                two_host_fields_are_400,
                http10_without_host_is_fine,
                chunk_size_line_ending_in_bare_lf_is_400,
                chunk_data_without_crlf_is_400,
                chunk_size_without_hex_digits_is_400,
                chunk_size_of_17_hex_digits_is_400,
                chunk_extensions_over_16_kib_are_400,
                trailers_over_16_kib_are_431,
                http2_version_is_505,
                http12_is_served_as_http11,
                garbage_request_line_is_400,
                unknown_method_is_501,
                unknown_expectation_is_417,
            ],
            limits: [
                request_line_over_8_kib_is_414,
                head_over_16_kib_is_431,
                more_than_100_fields_is_431,
                exactly_100_fields_are_accepted,
                body_at_max_body_is_accepted,
                content_length_over_max_body_is_413_before_the_body,
                expect_100_continue_over_max_body_is_413_without_100,
                chunked_body_over_max_body_is_413,
                connection_closes_after_1000_requests,
            ],
            timeouts: [
                partial_head_then_silence_is_408,
                head_trickled_byte_by_byte_is_cut_at_the_header_timeout,
                stalled_body_is_408,
                connection_without_bytes_is_closed_after_idle_timeout,
                kept_alive_connection_is_closed_after_idle_timeout,
            ],
            concurrency: [
                second_client_while_first_is_idle,
                slow_requests_on_two_connections,
                slowloris_clients_do_not_starve_an_ordinary_one,
            ],
            shutdown: [
                sigterm_lets_the_request_in_flight_finish_and_exits_0,
                sigint_exits_0,
                sigterm_closes_idle_keep_alive_connections,
                sigterm_under_keep_alive_load_loses_no_request,
                healthz_says_draining_during_the_drain_delay,
            ],
            command_line: [
                help_lists_the_shared_flags,
                nonexistent_root_is_refused,
                unparsable_addr_is_refused,
                addr_in_use_is_refused,
                zero_max_body_is_refused,
                unparsable_duration_is_refused,
            ],
            curl: [
                curl_get_root,
                curl_head,
                curl_post_data,
                curl_chunked_upload,
                curl_range,
                curl_http10,
                curl_reuses_the_connection,
                curl_expect_100_continue_upload,
            ],
            uploads: [
                a_64_mib_upload_round_trips_with_curl_and_the_server_stays_small,
                an_upload_cut_off_midway_leaves_no_file,
                an_upload_that_curl_abandons_leaves_no_file,
                an_upload_past_max_upload_is_413_and_leaves_no_file,
                a_malformed_upload_is_400_and_leaves_no_file,
                unsafe_names_are_saved_safely_and_never_overwrite,
                without_upload_dir_there_is_no_upload_route,
            ],
            server_status: [
                the_json_counts_requests_connections_and_latency,
                the_page_has_its_parts_and_escapes_the_model,
                metrics_have_the_latency_histogram,
                metrics_parse_with_the_prometheus_parser,
            ],
            pages: [
                the_roots_404_html_is_sent_for_a_missing_file,
                a_browser_gets_a_generated_error_page_and_curl_plain_text,
                a_directory_without_index_is_404_without_dir_listing,
                dir_listing_escapes_names_and_every_link_leads_to_its_file,
            ],
            compression: [
                curl_compressed_gets_gzip_and_decodes_it,
                brotli_wins_by_q_value_and_identity_can_be_refused,
                compressed_types_and_tiny_bodies_go_as_they_are,
                no_compress_turns_compression_off,
                a_precompressed_sibling_is_sent_from_disk,
                a_range_on_the_fly_is_the_whole_coded_body_or_the_plain_range,
            ],
            caching: [
                cache_control_follows_the_media_type,
                cache_control_rules_from_the_command_line_come_first,
                a_bad_cache_control_rule_is_refused_at_start,
                the_file_cache_serves_from_memory_within_its_age_bound,
                the_file_cache_sees_a_change_after_its_age_bound,
            ],
            vhosts: [each_host_gets_its_own_root, a_bad_vhost_is_refused_at_start],
            notes: [the_notes_api_runs_end_to_end, a_bad_stage_number_exits_2_with_one_line],
            guards: [
                every_response_is_nosniff_with_a_referrer_policy,
                security_headers_are_configurable_and_can_be_turned_off,
                a_cors_preflight_is_answered_for_an_allowed_origin_only,
                a_simple_cors_request_gets_its_origin_and_credentials_never_a_star,
                a_foreign_host_is_misdirected,
                a_foreign_authority_is_misdirected_with_curl,
                basic_auth_asks_for_and_checks_the_password,
                a_file_made_by_htpasswd_is_accepted,
                a_bad_password_file_is_refused_naming_its_line,
                bad_guard_flags_are_refused,
                the_guards_read_from_a_config_file,
                a_rate_limit_is_hit_and_recovered,
            ],
        }
    };
}
use all_cases;

/// One `#[test]` per case, in a module per group, each calling `crate::GROUP::CASE(&STAGE)`.
macro_rules! cases {
    ($stage:ident; $($group:ident: [$($case:ident),* $(,)?]),* $(,)?) => {
        $(
            mod $group {
                $(
                    #[test]
                    fn $case() {
                        crate::$group::$case(&super::$stage);
                    }
                )*
            }
        )*
    };
}
use cases;
