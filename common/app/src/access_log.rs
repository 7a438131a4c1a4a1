//! The access log's line: one per request, in the combined log format or as JSON.
//!
//! The combined log format is the one Apache httpd defines (`LogFormat "%h %l %u %t \"%r\" %>s
//! %b \"%{Referer}i\" \"%{User-agent}i\"" combined`) and nginx writes by default, so goaccess,
//! awstats and every log shipper read it:
//!
//! ```text
//! 127.0.0.1 - - [02/Dec/2026:09:00:00 +0000] "GET /index.html HTTP/1.1" 200 1234 "-" "curl/8.5.0"
//! ```
//!
//! Fields a client sends (the target, `Referer`, `User-Agent`) are escaped as httpd escapes them
//! (`\"`, `\\`, `\xHH` for control and non-ASCII octets), so a client cannot forge a second line
//! or break the quoting. The JSON line carries the same facts and the handling time, for log
//! collectors; serde_json does its escaping. Times are UTC.
//!
//! This module only makes the line. The middleware that calls it for every response, and the
//! `tracing` event it goes out in (target `access`, which `cli::logging` writes as it is), are the
//! application's and the command line's.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::middleware::{Middleware, Next};
use crate::trace_context::{hex, TraceContext};
use protocol::{Request, Response};

/// Which line [`access_line`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Apache's and nginx's combined log format.
    Combined,
    /// One JSON object.
    Json,
}

// ANCHOR: access_line
/// The access-log line for `request` answered with `response`, `elapsed` after it arrived, at
/// `now` (the wall clock when the response was made), in the trace `trace` (the JSON line
/// carries its ids; the combined format has no field for them). No newline at the end.
pub fn access_line(
    format: Format,
    request: &Request,
    response: &Response,
    elapsed: Duration,
    now: SystemTime,
    trace: &TraceContext,
) -> String {
    let peer = request.peer.map(client_ip);
    let bytes = response.body.len().filter(|&len| len > 0);
    let referer = request.headers.get("referer");
    let user_agent = request.headers.get("user-agent");
    match format {
        Format::Combined => {
            let mut line = String::with_capacity(160);
            // `%l` (identd) and `%u` (the authenticated user) are `-`: no identd is asked, and
            // a user name is the business of an authentication middleware's own log line.
            let _ = write!(
                line,
                "{} - - [{}] \"{} ",
                peer.map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
                clf_time(now),
                request.method,
            );
            escape_into(&mut line, request.target.as_str().as_bytes());
            let _ = write!(
                line,
                " {}\" {} ",
                request.version.as_str(),
                response.status.0
            );
            match bytes {
                Some(len) => {
                    let _ = write!(line, "{len}");
                }
                None => line.push('-'),
            }
            for field in [referer, user_agent] {
                line.push_str(" \"");
                match field {
                    Some(value) => escape_into(&mut line, value),
                    None => line.push('-'),
                }
                line.push('"');
            }
            line
        }
        Format::Json => serde_json::json!({
            "time": rfc3339(now),
            "peer": peer.map(|ip| ip.to_string()),
            "method": request.method.as_str(),
            "target": request.target.as_str(),
            "version": request.version.as_str(),
            "status": response.status.0,
            "bytes": bytes,
            "referer": referer.map(String::from_utf8_lossy),
            "user_agent": user_agent.map(String::from_utf8_lossy),
            "duration_ms": elapsed.as_secs_f64() * 1000.0,
            "trace_id": hex(&trace.trace_id),
            "span_id": hex(&trace.span_id),
            "parent_id": trace.parent_id.map(|id| hex(&id)),
        })
        .to_string(),
    }
}
// ANCHOR_END: access_line

/// The client's IP address, an IPv4 client of a dual-stack (`[::]`) listener as the IPv4
/// address it is, not `::ffff:127.0.0.1`.
fn client_ip(peer: SocketAddr) -> IpAddr {
    peer.ip().to_canonical()
}

/// Appends `bytes` escaped as httpd escapes logged request data.
fn escape_into(line: &mut String, bytes: &[u8]) {
    for &byte in bytes {
        match byte {
            b'"' => line.push_str("\\\""),
            b'\\' => line.push_str("\\\\"),
            0x20..=0x7e => line.push(char::from(byte)),
            _ => {
                let _ = write!(line, "\\x{byte:02x}");
            }
        }
    }
}

/// A UTC civil date and time from a moment.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
}

impl Civil {
    fn of(now: SystemTime) -> Civil {
        // A clock set before 1970 logs as 1970: the line is still one line.
        let seconds = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 2);
        let of_day = seconds % 86_400;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day % 3600 / 60,
            second: of_day % 60,
        }
    }
}

/// `02/Dec/2026:09:00:00 +0000`, the `%t` of the common log format.
fn clf_time(now: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = Civil::of(now);
    format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
        t.day,
        MONTHS[(t.month - 1) as usize],
        t.year,
        t.hour,
        t.minute,
        t.second
    )
}

/// `2026-12-02T09:00:00Z` (RFC 3339, in UTC).
fn rfc3339(now: SystemTime) -> String {
    let t = Civil::of(now);
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Year, month (1 to 12) and day (1 to 31) of the `days`th day after 1970-01-01, in the
/// proleptic Gregorian calendar: Howard Hinnant's `civil_from_days`, which counts in 400-year
/// eras of 146 097 days starting on 1 March so that the leap day is the last of its year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

// ANCHOR: access_middleware
/// The tracing target access lines go out on (the command line's logging writes them as they
/// are, to `--log-file` or stderr, or drops them).
pub const TARGET: &str = "access";

/// The middleware that writes one access line per request, outside every other middleware so
/// that the line shows what the client got (the error page, the compressed length).
#[derive(Clone, Copy, Debug)]
pub struct AccessLog {
    pub format: Format,
}

impl Middleware for AccessLog {
    fn call(&self, request: &Request, next: Next<'_>) -> Response {
        let arrived = Instant::now();
        let response = next.run(request);
        // Asked first, so that when nobody writes the access log (the default, without -v or
        // --log-file) no line is formatted: the cost is one check of the subscriber.
        if tracing::enabled!(target: TARGET, tracing::Level::INFO) {
            let trace = TraceContext::of(request, random_bytes());
            let line = access_line(
                self.format,
                request,
                &response,
                arrived.elapsed(),
                SystemTime::now(),
                &trace,
            );
            tracing::info!(target: TARGET, "{line}");
        }
        response
    }
}
// ANCHOR_END: access_middleware

/// 24 bytes from the operating system's random source, for new trace and span ids. Should it
/// fail (it does not on Linux once booted), the ids come from the clock and a counter: unique
/// in this process, which is what a log needs of them.
fn random_bytes() -> [u8; 24] {
    let mut bytes = [0u8; 24];
    if getrandom::fill(&mut bytes).is_err() {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64);
        bytes[..8].copy_from_slice(&nanos.to_le_bytes());
        bytes[8..16].copy_from_slice(&count.to_le_bytes());
        bytes[16..].copy_from_slice(&(nanos ^ count.rotate_left(32)).to_le_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Method, StatusCode};

    /// A request that came without a `traceparent`, with ids from these bytes.
    fn trace() -> TraceContext {
        TraceContext::of(&Request::new(Method::Get, "/"), [0xab; 24])
    }

    /// 2026-12-02 09:00:00 UTC.
    fn moment() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_796_202_000)
    }

    fn request(target: &str, peer: &str) -> Request {
        let mut request = Request::new(Method::Get, target.to_owned());
        request.peer = Some(peer.parse().expect("a socket address"));
        request
    }

    #[test]
    fn combined_is_what_apache_and_nginx_write() {
        let mut request = request("/index.html", "127.0.0.1:40000");
        request.headers.append("user-agent", "curl/8.5.0");
        request.headers.append("referer", "http://localhost/");
        let response = Response::with_body(StatusCode::OK, "text/html", "hello");
        assert_eq!(
            access_line(
                Format::Combined,
                &request,
                &response,
                Duration::ZERO,
                moment(),
                &trace(),
            ),
            "127.0.0.1 - - [02/Dec/2026:09:00:00 +0000] \"GET /index.html HTTP/1.1\" 200 5 \
             \"http://localhost/\" \"curl/8.5.0\""
        );
    }

    #[test]
    fn missing_fields_are_dashes_and_mapped_ipv4_is_ipv4() {
        let request = request("/", "[::ffff:10.0.0.7]:1");
        let response = Response::new(StatusCode::NOT_FOUND);
        let line = access_line(
            Format::Combined,
            &request,
            &response,
            Duration::ZERO,
            moment(),
            &trace(),
        );
        assert_eq!(
            line,
            "10.0.0.7 - - [02/Dec/2026:09:00:00 +0000] \"GET / HTTP/1.1\" 404 - \"-\" \"-\""
        );
        let mut request = Request::new(Method::Get, "/");
        request.peer = Some("[::1]:80".parse().expect("an address"));
        let line = access_line(
            Format::Combined,
            &request,
            &response,
            Duration::ZERO,
            moment(),
            &trace(),
        );
        assert!(line.starts_with("::1 - - "), "{line}");
        let request = Request::new(Method::Get, "/");
        let line = access_line(
            Format::Combined,
            &request,
            &response,
            Duration::ZERO,
            moment(),
            &trace(),
        );
        assert!(line.starts_with("- - - "), "{line}");
    }

    #[test]
    fn a_client_cannot_forge_a_line_or_break_the_quotes() {
        let mut request = request("/a\"b\\c", "127.0.0.1:1");
        request
            .headers
            .append("user-agent", &b"evil\"\n127.0.0.1 - - \xff"[..]);
        let response = Response::new(StatusCode::OK);
        let line = access_line(
            Format::Combined,
            &request,
            &response,
            Duration::ZERO,
            moment(),
            &trace(),
        );
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("\"GET /a\\\"b\\\\c HTTP/1.1\""), "{line}");
        assert!(
            line.ends_with("\"evil\\\"\\x0a127.0.0.1 - - \\xff\""),
            "{line}"
        );
    }

    #[test]
    fn json_carries_the_same_facts() {
        let mut request = request("/x?y=1", "[::1]:5");
        request.headers.append("user-agent", "a \"quoted\" agent");
        let response = Response::with_body(StatusCode::OK, "text/plain", "abc");
        let line = access_line(
            Format::Json,
            &request,
            &response,
            Duration::from_micros(1500),
            moment(),
            &trace(),
        );
        assert!(!line.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(value["time"], "2026-12-02T09:00:00Z");
        assert_eq!(value["peer"], "::1");
        assert_eq!(value["method"], "GET");
        assert_eq!(value["target"], "/x?y=1");
        assert_eq!(value["status"], 200);
        assert_eq!(value["bytes"], 3);
        assert_eq!(value["referer"], serde_json::Value::Null);
        assert_eq!(value["user_agent"], "a \"quoted\" agent");
        assert_eq!(value["duration_ms"], 1.5);
        assert_eq!(value["trace_id"], "ab".repeat(16));
        assert_eq!(value["span_id"], "ab".repeat(8));
        assert_eq!(value["parent_id"], serde_json::Value::Null);
    }

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        // 2000-02-29, a leap day of a century divisible by 400.
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_789), (2026, 12, 2));
        // Against httpdate, which the server already trusts for `Date`, over many days.
        for days in (0..40_000).step_by(37) {
            let when = UNIX_EPOCH + Duration::from_secs(days * 86_400 + 3_723);
            let imf = httpdate::fmt_http_date(when);
            let (year, month, day) = civil_from_days(days as i64);
            let t = clf_time(when);
            assert!(imf.contains(&format!(" {year} 01:02:03")), "{imf} {t}");
            assert!(t.starts_with(&format!("{day:02}/")), "{imf} {t}");
            assert!(imf.contains(&format!(" {day:02} ")), "{imf} {t} {month}");
        }
    }
}
