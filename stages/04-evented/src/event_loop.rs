//! One event loop: one thread, one epoll instance, one listening socket, many connections.
//!
//! Each turn of [`EventLoop::run`]:
//!
//! 1. wait in `epoll_wait` (mio's `Poll::poll`) until a socket is ready, a worker or the
//!    shutdown wakes us, or the nearest timer is due;
//! 2. for each event: the listener means "connections are waiting" (accept them all), the waker
//!    means "mail from the pool" (hand each response to its connection), anything else is a
//!    connection, driven as far as it goes without blocking;
//! 3. fire the timers that are due (header and idle timeouts, lingering closes).
//!
//! Nothing in a turn may block: a handler that might (`/slow`) goes to the [`pool`], and a
//! socket that is not ready returns `WouldBlock` and waits for its next event. That is the whole
//! contract of the model, and its weak point: one slow step anywhere stalls every connection of
//! the loop.
//!
//! [`pool`]: crate::pool

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use app::App;
use driver::refusal::{self, Lingering};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use protocol::Limits;
use tracing::{debug, info, warn};

use crate::conn::{Conn, Context, Progress};
use crate::pool::{Done, Mailbox, Pool};
use crate::shutdown::{Shutdown, GRACE_PERIOD};
use crate::slab::Slab;
use crate::timers::Timers;

/// The token of the listening socket. Connections use their slab key, which never gets near.
const LISTENER: Token = Token(usize::MAX - 1);
/// The token of the waker (pool replies and shutdown).
const WAKER: Token = Token(usize::MAX);
/// The token of the first lingering refusal; the others follow it, up to just below
/// [`LISTENER`].
const FIRST_REFUSAL: usize = usize::MAX - 1 - refusal::MAX_AT_ONCE;

/// Events taken from the kernel per `epoll_wait`.
const EVENTS_PER_POLL: usize = 1024;

/// Connections accepted per turn before the others get their turn.
const ACCEPTS_PER_TURN: usize = 256;

/// How long accepting pauses when the process is out of file descriptors.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The most often a loop logs refused connections, so a flood cannot flood the log too.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(1);

/// Connections open in all loops, against `--max-connections`.
pub type OpenCount = Arc<AtomicUsize>;

/// One loop and everything it owns.
pub struct EventLoop {
    index: usize,
    poll: Poll,
    waker: Arc<Waker>,
    /// `None` once the loop has stopped accepting (shutdown).
    listener: Option<TcpListener>,
    conns: Slab<Conn>,
    next_conn_id: u64,
    timers: Timers,
    app: Arc<App>,
    limits: Arc<Limits>,
    pool: Arc<Pool>,
    mailbox: Arc<Mailbox>,
    /// Mail taken out of the mailbox, kept between turns so that taking it allocates nothing.
    delivered: Vec<Done>,
    open: OpenCount,
    /// Connections refused past `--max-connections`, drained until their clients close.
    refusing: Lingering<TcpStream>,
    file_scratch: Vec<u8>,
    /// Connections that used up their turn while still readable.
    ready_again: Vec<usize>,
    /// Keys being driven again this turn (swapped with `ready_again`).
    revisiting: Vec<usize>,
    /// The listener may have connections waiting (edge-triggered, like every socket).
    accept_ready: bool,
    /// Accepting is paused until then, after running out of file descriptors.
    accept_paused_until: Option<Instant>,
    last_refusal_log: Option<Instant>,
}

impl EventLoop {
    /// A loop for `listener` (already bound, listening and non-blocking).
    pub fn new(
        index: usize,
        listener: std::net::TcpListener,
        app: Arc<App>,
        limits: Arc<Limits>,
        pool: Arc<Pool>,
        open: OpenCount,
    ) -> io::Result<EventLoop> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::from_std(listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let mailbox = Arc::new(Mailbox::new(Arc::clone(&waker)));
        Ok(EventLoop {
            index,
            poll,
            waker,
            listener: Some(listener),
            conns: Slab::new(),
            next_conn_id: 0,
            timers: Timers::new(),
            app,
            limits,
            pool,
            mailbox,
            delivered: Vec::new(),
            open,
            refusing: Lingering::new(),
            file_scratch: Vec::new(),
            ready_again: Vec::new(),
            revisiting: Vec::new(),
            // Connections may have queued between `listen` and the registration above, and
            // registering an already-ready socket does report it; trying once is cheaper than
            // reasoning about it.
            accept_ready: true,
            accept_paused_until: None,
            last_refusal_log: None,
        })
    }

    /// The waker of this loop, for the shutdown.
    pub fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    // ANCHOR: run
    /// Runs the loop until shutdown has finished every connection (or the grace period ended).
    pub fn run(mut self, shutdown: &Shutdown) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS_PER_POLL);
        let mut stop_by: Option<Instant> = None;
        loop {
            let now = Instant::now();
            if stop_by.is_none() && shutdown.is_requested() {
                stop_by = Some(now + GRACE_PERIOD);
                self.begin_shutdown(now);
            }
            if let Some(deadline) = stop_by {
                if self.conns.is_empty() && self.refusing.is_empty() {
                    return Ok(());
                }
                if now >= deadline {
                    warn!(
                        event_loop = self.index,
                        connections = self.conns.len(),
                        "grace period over: closing the connections still open"
                    );
                    return Ok(());
                }
            }

            // 1. Wait for readiness, mail, or the nearest deadline.
            let timeout = self.poll_timeout(now, stop_by);
            if let Err(error) = self.poll.poll(&mut events, timeout) {
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(error);
            }

            // 2. Act on what happened. The clocks are read once for the whole batch.
            let now = Instant::now();
            let date = SystemTime::now();
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_ready = true,
                    WAKER => self.take_mail(now, date),
                    Token(key) if key >= FIRST_REFUSAL => {
                        self.refusing.on_readable(key - FIRST_REFUSAL);
                    }
                    Token(key) => {
                        if let Some(conn) = self.conns.get_mut(key) {
                            conn.on_event(event);
                            self.drive(key, now, date);
                        }
                    }
                }
            }
            self.revisit(now, date);
            if self.accept_ready {
                self.accept(now);
            }

            // 3. Timers.
            self.fire_timers(now, date);
            self.refusing.expire(now);
        }
    }
    // ANCHOR_END: run

    /// How long `epoll_wait` may sleep: until the nearest deadline, or not at all when work is
    /// left over from this turn.
    fn poll_timeout(&mut self, now: Instant, stop_by: Option<Instant>) -> Option<Duration> {
        if let Some(until) = self.accept_paused_until {
            if now >= until {
                self.accept_paused_until = None;
                self.accept_ready = true;
            }
        }
        let accept_waiting = self.accept_ready && self.listener.is_some();
        if accept_waiting || !self.ready_again.is_empty() {
            return Some(Duration::ZERO);
        }
        [
            self.timers.next_deadline(),
            self.refusing.next_deadline(),
            self.accept_paused_until,
            stop_by,
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|deadline| {
            // epoll counts in whole milliseconds; round up, or a deadline 0.4 ms away would
            // make the loop spin through zero-length waits until it passes.
            let wait = deadline.saturating_duration_since(now);
            Duration::from_millis(wait.as_micros().div_ceil(1000) as u64)
        })
    }

    // ANCHOR: drive
    /// Drives connection `key` as far as it goes, and closes it when it is done.
    fn drive(&mut self, key: usize, now: Instant, date: SystemTime) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let mut cx = Context {
            token: Token(key),
            now,
            date,
            app: &self.app,
            registry: self.poll.registry(),
            timers: &mut self.timers,
            pool: &self.pool,
            mailbox: &self.mailbox,
            file_scratch: &mut self.file_scratch,
        };
        match conn.drive(&mut cx) {
            Ok(Progress::Waiting) => {}
            Ok(Progress::Yielded) => self.ready_again.push(key),
            Ok(Progress::Closed) => self.close(key),
            Err(error) => {
                // Typically a reset or a broken pipe: the client went away.
                debug!(%error, "connection ended with an error");
                self.close(key);
            }
        }
    }
    // ANCHOR_END: drive

    fn close(&mut self, key: usize) {
        if let Some(mut conn) = self.conns.remove(key) {
            self.timers.disarm(&mut conn.timer);
            self.open.fetch_sub(1, Ordering::Relaxed);
            // Dropping the socket closes it, and closing removes it from the epoll set: no
            // `deregister` call needed (the descriptor is not shared with anyone).
        }
    }

    /// Drives again the connections that used up their turn in the last one.
    fn revisit(&mut self, now: Instant, date: SystemTime) {
        std::mem::swap(&mut self.ready_again, &mut self.revisiting);
        let mut revisiting = std::mem::take(&mut self.revisiting);
        for key in revisiting.drain(..) {
            self.drive(key, now, date);
        }
        self.revisiting = revisiting;
    }

    // ANCHOR: take_mail
    /// Hands the responses that pool workers finished to their connections.
    fn take_mail(&mut self, now: Instant, date: SystemTime) {
        let mut delivered = std::mem::take(&mut self.delivered);
        self.mailbox.take(&mut delivered);
        for done in delivered.drain(..) {
            let key = done.token.0;
            match self.conns.get_mut(key) {
                Some(conn) if conn.id == done.conn_id => {
                    conn.handle_pool_response(done.response, date);
                    self.drive(key, now, date);
                }
                // The connection closed (the client reset it) while the handler ran.
                _ => {}
            }
        }
        self.delivered = delivered;
    }
    // ANCHOR_END: take_mail

    // ANCHOR: fire_timers
    /// Lets every connection whose deadline has passed act on it.
    fn fire_timers(&mut self, now: Instant, date: SystemTime) {
        while let Some(expired) = self.timers.pop_expired(now) {
            let live = self
                .conns
                .get_mut(expired.key)
                .is_some_and(|conn| expired.is_live(&mut conn.timer));
            if !live {
                self.timers.discard();
                continue;
            }
            if let Some(conn) = self.conns.get_mut(expired.key) {
                // The machine checks the deadline itself: an entry that fired early (its
                // deadline moved later) changes nothing, and `drive` arms the new deadline.
                conn.handle_timeout(now);
            }
            self.drive(expired.key, now, date);
        }
        if self.timers.needs_compaction() {
            let conns = &self.conns;
            self.timers.compact(|key, entry| {
                conns
                    .get(key)
                    .and_then(|conn| conn.timer.as_ref())
                    .is_some_and(|live| live.same_entry(entry))
            });
        }
    }
    // ANCHOR_END: fire_timers

    // ANCHOR: accept
    /// Accepts the connections waiting on the listener (edge-triggered: until `WouldBlock`, or
    /// until this turn's share is used up).
    fn accept(&mut self, now: Instant) {
        self.accept_up_to(ACCEPTS_PER_TURN, now);
    }

    /// [`accept`](Self::accept), taking at most `most` connections.
    fn accept_up_to(&mut self, most: usize, now: Instant) {
        for _ in 0..most {
            let Some(listener) = &self.listener else {
                self.accept_ready = false;
                return;
            };
            match listener.accept() {
                Ok((socket, _peer)) => self.admit(socket, now),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.accept_ready = false;
                    return;
                }
                // The client gave up before we got to it, or a signal: try the next one.
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                    ) => {}
                Err(error) => {
                    // EMFILE and friends: out of descriptors (or memory). The connection stays
                    // in the kernel's queue; try again shortly, when some may have closed.
                    warn!(%error, "accept failed; pausing accepts for {ACCEPT_PAUSE:?}");
                    self.accept_ready = false;
                    self.accept_paused_until = Some(now + ACCEPT_PAUSE);
                    return;
                }
            }
        }
    }

    /// At a stop, with the door shut: every connection left in the accept queue, whatever this
    /// turn's share, so that none is reset when the listener closes.
    fn accept_all(&mut self, now: Instant) {
        self.accept_up_to(usize::MAX, now);
    }

    /// Takes a new connection in, or refuses it when `--max-connections` are open, or when its
    /// client holds `--max-connections-per-client` already.
    fn admit(&mut self, mut socket: TcpStream, now: Instant) {
        let open_before = self.open.fetch_add(1, Ordering::Relaxed);
        if open_before >= self.limits.max_connections {
            self.open.fetch_sub(1, Ordering::Relaxed);
            self.refuse_over_max(socket, now);
            return;
        }
        let open = match self
            .app
            .connection_opened_from(socket.peer_addr().ok(), &self.limits)
        {
            Ok(open) => open,
            Err(max) => {
                self.open.fetch_sub(1, Ordering::Relaxed);
                // Counted in /metrics by the app (reason="connections_per_client").
                let response = refusal::client_response(SystemTime::now(), max);
                self.refuse(socket, &response, now);
                return;
            }
        };
        // Responses leave in at most a few writes; Nagle's algorithm would hold the last
        // small one back until the client's delayed ACK.
        let registered = socket.set_nodelay(true).and_then(|()| {
            self.poll.registry().register(
                &mut socket,
                Token(self.conns.next_key()),
                Interest::READABLE,
            )
        });
        if let Err(error) = registered {
            debug!(%error, "could not set up an accepted connection");
            self.open.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        let id = self.next_conn_id;
        self.next_conn_id += 1;
        let key = self.conns.insert(Conn::new(
            id,
            socket,
            &self.limits,
            self.app.body_sinks(),
            now,
            open,
        ));
        if let Some(conn) = self.conns.get_mut(key) {
            conn.arm_timer(&mut self.timers, key);
        }
    }
    // ANCHOR_END: accept

    // ANCHOR: refuse
    /// Over `--max-connections`: answer 503 at once, without reading the request, and close
    /// once the client has read it (`driver::refusal`: write, half-close, drain).
    ///
    /// The alternative, leaving connections in the kernel's accept queue until one closes,
    /// makes clients hang with no answer (or time out in the queue) and hides the limit.
    /// A 503 costs one accept, one write, a read or two and a close, and says what happened.
    fn refuse_over_max(&mut self, socket: TcpStream, now: Instant) {
        self.app.stats().count_refusal(app::Refusal::MaxConnections);
        let response = refusal::response(SystemTime::now(), self.limits.max_connections);
        self.refuse(socket, &response, now);
        let due = self
            .last_refusal_log
            .is_none_or(|last| now.duration_since(last) >= REFUSAL_LOG_EVERY);
        if due {
            self.last_refusal_log = Some(now);
            warn!(
                max_connections = self.limits.max_connections,
                "refusing connections with 503: --max-connections reached"
            );
        }
    }

    /// Sends a refusal (the `503` above, or the `429` past `--max-connections-per-client`) and
    /// closes once the client has read it.
    fn refuse(&mut self, mut socket: TcpStream, response: &[u8], now: Instant) {
        // A new socket's send buffer is empty, so this takes it all. An error means the client
        // is gone, which needs no answer.
        if refusal::begin(&socket, response).is_ok() {
            // Closing over the client's unread request would send a reset, which can destroy
            // the 503 before the client reads it: so the socket lingers, drained on each
            // readable event, until the client closes or `refusal::LINGER` is over. Past
            // `refusal::MAX_AT_ONCE` lingering refusals, it is closed at once instead.
            if let Some(index) = self.refusing.vacant() {
                let token = Token(FIRST_REFUSAL + index);
                if self
                    .poll
                    .registry()
                    .register(&mut socket, token, Interest::READABLE)
                    .is_ok()
                {
                    self.refusing.insert(index, socket, now);
                }
            }
        }
    }
    // ANCHOR_END: refuse

    // ANCHOR: begin_shutdown
    /// Stops accepting and asks every connection to finish: each answers the request it is
    /// answering or receiving as its last, and an idle one waits `protocol::http1::STOP_GRACE`
    /// for a request on its way, then closes.
    fn begin_shutdown(&mut self, now: Instant) {
        // Closing a listener resets the connections still in its accept queue, whose clients
        // may have sent a request. So: shut the door (`driver::listener`), take in everything
        // queued, then close. The connections taken in are asked to finish like the others.
        if let Some(listener) = &self.listener {
            if let Err(error) = driver::listener::refuse_new_connections(listener) {
                warn!(%error, "cannot shut new connections out: some may be reset at close");
            }
        }
        self.accept_all(now);
        self.listener = None;
        self.accept_ready = false;
        let keys: Vec<usize> = self.conns.keys().collect();
        let busy = keys
            .iter()
            .filter(|&&key| self.conns.get(key).is_some_and(|conn| !conn.is_idle()))
            .count();
        info!(
            event_loop = self.index,
            open = keys.len(),
            busy,
            "stopping: finishing every connection's last request"
        );
        let date = SystemTime::now();
        for key in keys {
            if let Some(conn) = self.conns.get_mut(key) {
                conn.handle_shutdown(now);
            }
            self.drive(key, now, date);
        }
    }
    // ANCHOR_END: begin_shutdown
}
