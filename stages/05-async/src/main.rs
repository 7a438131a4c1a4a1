//! `stage05-async`: the stage's binary, serving the demo site. Everything it does is in
//! [`stage05_async::run`], so that another program can run stage 05 with an application of
//! its own.

fn main() {
    stage05_async::run::main_with(std::env::args_os().collect(), cli::demo_site);
}
