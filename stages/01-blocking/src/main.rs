//! `stage01-blocking`: the stage's binary, serving the demo site. Everything it does is in
//! [`stage01_blocking::run`], so that another program can run stage 01 with an application of
//! its own.

fn main() {
    stage01_blocking::run::main_with(std::env::args_os().collect(), cli::demo_site);
}
