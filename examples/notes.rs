//! A small JSON notes API, written with the application builder, that runs on any stage:
//!
//! ```console
//! $ cargo run --release --example notes -- --stage 4 --addr 127.0.0.1:8080
//! $ curl -s localhost:8080/notes -H 'Authorization: Bearer notes-demo-token' \
//!        -H 'Content-Type: application/json' -d '{"title":"Lines","body":"Act 2"}'
//! {"id":1,"title":"Lines","body":"Act 2"}
//! $ curl -s localhost:8080/notes/1
//! ```
//!
//! `--stage N` (1 to 7, default 5) picks the stage, `--token TOKEN` (or `NOTES_TOKEN`) the bearer
//! token that writes need; every other flag is the stage's own (`--addr`, `--threads`,
//! `--cert`...), and `--help` lists them. The book's "Write your own app" page walks through
//! this file.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /` | what this API is and which stage serves it |
//! | `GET /notes` | every note, oldest first (`?q=word` keeps those whose title has it) |
//! | `POST /notes` | a new note from JSON or a form: 201 with `Location` |
//! | `GET /notes/{id}` | one note, or a JSON 404 |
//! | `PUT /notes/{id}` | replaces a note's title and body (200), or makes note `id` (201) |
//! | `DELETE /notes/{id}` | removes a note: 204 |
//!
//! Writes need `Authorization: Bearer TOKEN` (the auth middleware, on the `/notes` group only);
//! every request is logged with its time (the logging middleware, on the whole app).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use app::extract::{form, param, query};
use app::middleware::before;
use app::{App, AppError, AppInfo, IntoResponse, Json, Next, Params, Rejection};
use cli::ServerArgs;
use protocol::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};

/// The token writes need when neither `--token` nor `NOTES_TOKEN` gives one. It is printed at
/// start: this is a demo, and a real deployment passes its own.
const DEMO_TOKEN: &str = "notes-demo-token";

/// The most notes kept, so that a client looping on `POST /notes` cannot fill the memory.
const MAX_NOTES: usize = 10_000;

/// The longest title and body accepted, in bytes.
const MAX_TITLE: usize = 200;
const MAX_BODY: usize = 10_000;

// ANCHOR: model
/// A note, as stored and as sent.
#[derive(Clone, Debug, Serialize)]
struct Note {
    id: u64,
    title: String,
    body: String,
}

/// What a client sends to make or replace a note (as JSON, or as form fields).
#[derive(Debug, Deserialize)]
struct NoteInput {
    title: String,
    #[serde(default)]
    body: String,
}

/// The notes in memory. One `Mutex`: every thread, process or task of the stage calls the
/// handlers at once, and each handler holds the lock only for a map operation.
#[derive(Default)]
struct Notebook {
    next_id: u64,
    notes: BTreeMap<u64, Note>,
}
// ANCHOR_END: model

type Shared = Arc<Mutex<Notebook>>;

/// The lock, even if a handler panicked while holding it: every change below is one map
/// operation, so a panic cannot leave the notebook half-changed.
fn lock(notebook: &Shared) -> std::sync::MutexGuard<'_, Notebook> {
    notebook.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A JSON error body, `{"error": "..."}`, with `status`.
fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    #[derive(Serialize)]
    struct Error {
        error: String,
    }
    (
        status,
        Json(Error {
            error: message.into(),
        }),
    )
        .into_response()
}

/// A rejected input (415, 400) as a JSON error, keeping the headers it carries
/// (`Accept-Post` on a 415).
fn rejected(rejection: Rejection) -> Response {
    let plain = rejection.clone().into_response();
    let mut response = json_error(plain.status, rejection.to_string());
    for (name, value) in plain.headers.iter() {
        if name != "content-type" && name != "content-length" {
            response.headers.set(name, value);
        }
    }
    response
}

// ANCHOR: input
/// A note's input from the body: JSON or a form, whichever the `Content-Type` says; then
/// checked, so that what is stored is bounded (422 for a value that is well-formed but wrong).
fn note_input(request: &Request) -> Result<NoteInput, Response> {
    let input = match Json::<NoteInput>::from_request(request) {
        Ok(Json(input)) => input,
        Err(Rejection::WrongContentType { .. }) => form::<NoteInput>(request).map_err(|form| {
            // Neither JSON nor a form: say both are taken.
            match form {
                Rejection::WrongContentType { .. } => json_error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "send the note as application/json or application/x-www-form-urlencoded",
                )
                .header(
                    "accept-post",
                    "application/json, application/x-www-form-urlencoded",
                ),
                other => rejected(other),
            }
        })?,
        Err(other) => return Err(rejected(other)),
    };
    let title = input.title.trim();
    if title.is_empty() {
        return Err(json_error(
            StatusCode::UNPROCESSABLE_CONTENT,
            "a note needs a title",
        ));
    }
    if title.len() > MAX_TITLE || input.body.len() > MAX_BODY {
        return Err(json_error(
            StatusCode::UNPROCESSABLE_CONTENT,
            format!("a title has at most {MAX_TITLE} bytes and a body at most {MAX_BODY}"),
        ));
    }
    Ok(NoteInput {
        title: title.to_owned(),
        body: input.body,
    })
}
// ANCHOR_END: input

/// The `{id}` parameter: 400 naming it when it is not a number.
fn note_id(params: &Params) -> Result<u64, Response> {
    param::<u64>(params, "id").map_err(rejected)
}

fn not_found(id: u64) -> Response {
    json_error(StatusCode::NOT_FOUND, format!("there is no note {id}"))
}

// ANCHOR: handlers
fn list(notebook: &Shared, request: &Request) -> Response {
    #[derive(Deserialize)]
    struct Search {
        q: Option<String>,
    }
    let search = match query::<Search>(request) {
        Ok(search) => search,
        Err(rejection) => return rejected(rejection),
    };
    let notebook = lock(notebook);
    let notes: Vec<&Note> = notebook
        .notes
        .values()
        .filter(|note| {
            search
                .q
                .as_ref()
                .is_none_or(|q| note.title.contains(q.as_str()))
        })
        .collect();
    Json(notes).into_response()
}

fn create(notebook: &Shared, request: &Request) -> Response {
    let input = match note_input(request) {
        Ok(input) => input,
        Err(refusal) => return refusal,
    };
    let mut notebook = lock(notebook);
    if notebook.notes.len() >= MAX_NOTES {
        return notebook_full();
    }
    notebook.next_id += 1;
    let note = Note {
        id: notebook.next_id,
        title: input.title,
        body: input.body,
    };
    notebook.notes.insert(note.id, note.clone());
    (StatusCode::CREATED, Json(&note))
        .into_response()
        .header("location", format!("/notes/{}", note.id))
}

fn show(notebook: &Shared, params: &Params) -> Response {
    let id = match note_id(params) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    match lock(notebook).notes.get(&id) {
        Some(note) => Json(note).into_response(),
        None => not_found(id),
    }
}

fn replace(notebook: &Shared, request: &Request, params: &Params) -> Response {
    let (id, input) = match (note_id(params), note_input(request)) {
        (Ok(id), Ok(input)) => (id, input),
        (Err(refusal), _) | (_, Err(refusal)) => return refusal,
    };
    let mut notebook = lock(notebook);
    if let Some(note) = notebook.notes.get_mut(&id) {
        note.title = input.title;
        note.body = input.body;
        return Json(&*note).into_response();
    }
    // PUT makes what is not there yet, and says so with 201 (RFC 9110 section 9.3.4): the
    // client chose the id, and POST's ids go on after the highest one.
    if notebook.notes.len() >= MAX_NOTES {
        return notebook_full();
    }
    notebook.next_id = notebook.next_id.max(id);
    let note = Note {
        id,
        title: input.title,
        body: input.body,
    };
    notebook.notes.insert(id, note.clone());
    (StatusCode::CREATED, Json(&note)).into_response()
}

/// 507 Insufficient Storage (RFC 4918 section 11.5): the request is fine, the server has no
/// room for what it would store.
fn notebook_full() -> Response {
    json_error(
        StatusCode(507),
        format!("the notebook is full ({MAX_NOTES} notes): delete some first"),
    )
}

fn remove(notebook: &Shared, params: &Params) -> Response {
    match note_id(params) {
        Ok(id) => match lock(notebook).notes.remove(&id) {
            Some(_) => Response::new(StatusCode::NO_CONTENT),
            None => not_found(id),
        },
        Err(refusal) => refusal,
    }
}
// ANCHOR_END: handlers

// ANCHOR: middleware
/// The logging middleware: one line per request, with the time the rest of the chain took.
fn log_request(request: &Request, next: Next<'_>) -> Response {
    let started = Instant::now();
    let response = next.run(request);
    tracing::info!(
        target: "notes",
        method = %request.method,
        path = request.path(),
        status = response.status.as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "answered"
    );
    response
}

/// The auth middleware: a write without `Authorization: Bearer TOKEN` is 401 and never reaches
/// its handler (RFC 6750 section 3 for the challenge). Reads pass.
fn require_token(token: String) -> impl app::Middleware {
    let expected = format!("Bearer {token}");
    before(move |request: &Request| {
        if matches!(request.method, Method::Get | Method::Head | Method::Options) {
            return None;
        }
        let given = request.headers.get("authorization").unwrap_or_default();
        // Compared in full whatever the first difference, so the time taken does not tell a
        // guesser how much of the token was right.
        if constant_time_eq(given, expected.as_bytes()) {
            return None;
        }
        Some(
            json_error(
                StatusCode::UNAUTHORIZED,
                "writes need Authorization: Bearer TOKEN",
            )
            .header("www-authenticate", "Bearer realm=\"notes\""),
        )
    })
}
// ANCHOR_END: middleware

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

// ANCHOR: app
/// The notes API, for the stage described by `info`.
fn notes_app(info: AppInfo, token: String) -> App {
    let notebook: Shared = Arc::default();
    let (for_list, for_create, for_show, for_replace, for_remove) = (
        notebook.clone(),
        notebook.clone(),
        notebook.clone(),
        notebook.clone(),
        notebook,
    );
    App::builder(info)
        .middleware(log_request)
        .get("/", move |_: &Request, _: &Params| {
            Json(serde_json::json!({
                "api": "notes",
                "stage": info.stage,
                "model": info.model,
                "routes": ["GET /notes", "POST /notes", "GET /notes/{id}",
                           "PUT /notes/{id}", "DELETE /notes/{id}"],
            }))
        })
        .group("/notes", |notes| {
            notes
                .middleware(require_token(token))
                .get("/", move |request: &Request, _: &Params| {
                    list(&for_list, request)
                })
                .post("/", move |request: &Request, _: &Params| {
                    create(&for_create, request)
                })
                .get("/{id}", move |_: &Request, params: &Params| {
                    show(&for_show, params)
                })
                .put("/{id}", move |request: &Request, params: &Params| {
                    replace(&for_replace, request, params)
                })
                .delete("/{id}", move |_: &Request, params: &Params| {
                    remove(&for_remove, params)
                })
        })
        // The framework's own 404 and 405 in the API's shape, JSON, like every other error.
        .on_error(StatusCode::NOT_FOUND, |request, _| {
            json_error(
                StatusCode::NOT_FOUND,
                format!("no route for {}", request.path()),
            )
        })
        .on_error(StatusCode::METHOD_NOT_ALLOWED, |request, plain| {
            let mut response = json_error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{} is not allowed on {}", request.method, request.path()),
            );
            if let Some(allow) = plain.headers.get("allow") {
                response.headers.set("allow", allow);
            }
            response
        })
        .build()
}
// ANCHOR_END: app

/// This program's own flags, taken out of the command line before the stage sees the rest.
struct NotesArgs {
    stage: u8,
    token: String,
    /// The program's name, then the stage's flags.
    rest: Vec<OsString>,
}

/// Reads `--stage N` and `--token T` (also `--stage=N`, `--token=T`); the rest is the stage's.
fn parse_notes_args(args: Vec<OsString>) -> Result<NotesArgs, String> {
    let mut parsed = NotesArgs {
        stage: 5,
        token: std::env::var("NOTES_TOKEN").unwrap_or_else(|_| DEMO_TOKEN.to_owned()),
        rest: Vec::new(),
    };
    let mut args = args.into_iter();
    parsed.rest.extend(args.next());
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy().into_owned();
        let (name, inline) = match text.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (text.clone(), None),
        };
        if name != "--stage" && name != "--token" {
            parsed.rest.push(arg);
            continue;
        }
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .map(|value| value.to_string_lossy().into_owned())
                .ok_or_else(|| format!("{name} needs a value"))?,
        };
        if name == "--stage" {
            parsed.stage = value
                .parse()
                .ok()
                .filter(|stage| (1..=7).contains(stage))
                .ok_or_else(|| {
                    format!("--stage takes a stage number from 1 to 7, not {value:?}")
                })?;
        } else if value.is_empty() {
            return Err("--token must not be empty".to_owned());
        } else {
            parsed.token = value;
        }
    }
    Ok(parsed)
}

// ANCHOR: main
fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    let notes = parse_notes_args(args)
        .unwrap_or_else(|message| cli::exit_with_error(format_args!("{message} (see --help)"), 2));
    if notes.rest.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!(
            "notes: a JSON notes API on any Stagecraft stage.\n\n\
             Its own flags:\n  --stage N      the stage that serves it, 1 to 7 [default: 5]\n  \
             --token TOKEN  the bearer token writes need [default: NOTES_TOKEN, else \
             {DEMO_TOKEN}]\n\nThe stage's flags:\n"
        );
    }
    let token = notes.token;
    // Any stage's `main_with` takes the same kind of function: flags and stage in, app out.
    let make_app = move |_: &ServerArgs, info: AppInfo| -> Result<App, AppError> {
        tracing::info!(target: "notes", "writes need Authorization: Bearer {token}");
        Ok(notes_app(info, token))
    };
    let args = notes.rest;
    match notes.stage {
        1 => stage01_blocking::run::main_with(args, make_app),
        2 => stage02_threadpool::run::main_with(args, make_app),
        3 => stage03_prefork::run::main_with(args, make_app),
        4 => stage04_evented::run::main_with(args, make_app),
        5 => stage05_async::run::main_with(args, make_app),
        6 => stage06_tls::run::main_with(args, make_app),
        _ => stage07_http2::run::main_with(args, make_app),
    }
}
// ANCHOR_END: main
