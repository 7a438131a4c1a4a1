//! `stage04-evented`: the stage's binary, serving the demo site. Everything it does is in
//! [`stage04_evented::run`], so that another program can run stage 04 with an application of
//! its own.

fn main() {
    stage04_evented::run::main_with(std::env::args_os().collect(), cli::demo_site);
}
